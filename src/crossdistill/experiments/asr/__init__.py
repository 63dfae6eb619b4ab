"""Paper 001's experiments: the Fig. 3 sweep of the seq2seq model (``fig3``, report in ``fig3_report``)."""
