"""``crossdistill bench lm`` (experiments/benchmarks/lm.py), here to share this folder's units fixture."""

import argparse

from crossdistill.experiments.benchmarks import lm as bench


def test_bench_measures_every_unit_and_sizes_the_paper_scale(shared_units):
    args = argparse.Namespace(units=shared_units, steps=2, batch_size=8, top_k=4, max_full_mib=64.0, threads=1, seed=0)
    result = bench.run(args)
    for unit in ("phone", "senone", "subword"):
        train, cache = result["train"][unit], result["posteriors"][unit]
        assert train["timed_steps"] == 2 and train["units_per_second"] > 0
        assert cache["frames"] == result["posteriors"]["phone"]["frames"] > cache["segments"] > 0
        assert cache["build_seconds_per_audio_hour"] > 0 and cache["full_cache_measured"]
        # A top-4 row (4 ids + 4 probabilities) is smaller than a full row once V is larger than 6.
        assert cache["cache_bytes_per_frame"] < cache["full_cache_bytes_per_frame"]
    scale = result["paper_scale"]["senone"]
    assert scale["full_bytes_per_frame_if_stored_per_frame"] == 4160 * 4
    per_segment = result["posteriors"]["senone"]["frames_per_segment"]
    assert scale["full_bytes_per_frame_stored_per_segment"] == round((4160 * 4 + 8) / per_segment, 1)
    assert scale["top_k_gib_per_segment_storage"] < scale["full_gib_per_segment_storage"]
