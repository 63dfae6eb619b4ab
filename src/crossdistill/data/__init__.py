"""crossdistill.data."""
