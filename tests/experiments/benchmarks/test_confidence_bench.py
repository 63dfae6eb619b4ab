import argparse

import torch

from crossdistill.experiments.benchmarks import confidence
from crossdistill.kd import dropout_confidence_from_masks, sample_dropout_masks


def test_loop_reference_agrees_with_vectorized():
    logits = torch.randn(6, 11)
    masks = sample_dropout_masks((6, 11), 9, 0.2, torch.Generator().manual_seed(0))
    assert torch.allclose(
        confidence.loop_confidence(logits, masks), dropout_confidence_from_masks(logits, masks), atol=1e-5
    )


def test_run_reports_ratio_fields():
    args = argparse.Namespace(batch=4, classes=5, n_masks=3, p=0.1, repeats=1, seed=0)
    result = confidence.run(args)
    assert result["speedup"] > 0
    assert result["max_abs_diff"] < 1e-5
