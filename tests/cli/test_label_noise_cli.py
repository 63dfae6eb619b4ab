"""`data synth --label-noise/--test-speakers` on the command line: bad values are one line on stderr, exit 2."""

from __future__ import annotations

import pytest

from crossdistill.cli import main


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (["--label-noise", "1.2"], "--label-noise must lie in [0, 1)"),
        (["--label-noise", "0.9"], "every training intent keeps a right label"),
        (["--test-speakers", "6"], "leave a training speaker"),
    ],
)
def test_bad_synthesis_options_are_refused_before_work(tmp_path, capsys, option, message):
    out = tmp_path / "corpus"
    assert main(["data", "synth", "--out", str(out), "--preset", "tiny", "--quiet", *option]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()
