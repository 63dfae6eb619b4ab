"""crossdistill: cross-modal knowledge distillation from text teachers into speech students."""

__version__ = "0.1.0"
