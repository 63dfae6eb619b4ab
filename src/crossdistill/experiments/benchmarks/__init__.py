"""crossdistill.experiments/benchmarks."""
