"""crossdistill.teachers."""
