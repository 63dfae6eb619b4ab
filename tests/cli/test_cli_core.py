import json
import subprocess
import sys

import pytest

from crossdistill.cli import build_parser, main


def _subcommands(parser):
    for action in parser._actions:
        if action.__class__.__name__ == "_SubParsersAction":
            return action.choices
    return {}


def test_every_subcommand_has_help(capsys):
    parser = build_parser()
    commands = _subcommands(parser)
    assert {"simulate-confidence", "bench", "demo"} <= set(commands)
    for name, sub in commands.items():
        with pytest.raises(SystemExit) as exit_info:
            main([name, "--help"])
        assert exit_info.value.code == 0, name
        for nested in _subcommands(sub):
            with pytest.raises(SystemExit) as exit_info:
                main([name, nested, "--help"])
            assert exit_info.value.code == 0, f"{name} {nested}"
    capsys.readouterr()


def test_simulate_confidence_command(tmp_path, capsys):
    assert main(["simulate-confidence", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "confidence_simulation.csv").exists()
    assert (tmp_path / "confidence_simulation.png").exists()
    capsys.readouterr()


def test_bench_confidence_prints_one_json_object():
    completed = subprocess.run(
        [sys.executable, "-m", "crossdistill.cli", "bench", "confidence", "--repeats", "1"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    result = json.loads(completed.stdout)
    assert {"speedup", "max_abs_diff"} <= set(result)


def test_user_errors_exit_2_without_traceback(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(SystemExit):
        main(["simulate-confidence"])  # --out is required
    assert "required" in capsys.readouterr().err
