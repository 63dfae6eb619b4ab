"""crossdistill.experiments."""
