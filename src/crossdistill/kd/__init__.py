"""crossdistill.kd."""
