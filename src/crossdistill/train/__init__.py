"""crossdistill.train."""
