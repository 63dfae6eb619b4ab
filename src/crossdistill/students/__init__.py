"""crossdistill.students."""
