import argparse

from crossdistill.experiments.benchmarks import train


def test_bench_train_reports_overheads_for_both_settings():
    args = argparse.Namespace(preset="tiny", batch_size=4, seconds=0.5, steps=2, full_steps=1, threads=1, seed=0)
    result = train.run(args)
    for setting in ("intent_module", "full_student"):
        assert result[setting]["vanilla_utt_per_s"] > 0 and result[setting]["kd_utt_per_s"] > 0
        assert result[setting]["kd_overhead"] > 0
    assert result["kd_overhead"] == result["intent_module"]["kd_overhead"]
