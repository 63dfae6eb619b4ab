import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crossdistill.common import atomic_path, atomic_write_text, fingerprint, fingerprint_file


def test_atomic_write_replaces_and_leaves_no_temp(tmp_path):
    target = tmp_path / "sub" / "a.json"
    atomic_write_text(target, "one")
    atomic_write_text(target, "two")
    assert target.read_text() == "two"
    assert sorted(p.name for p in target.parent.iterdir()) == ["a.json"]
    assert oct(target.stat().st_mode & 0o777) != oct(0o600)


def test_failed_write_keeps_the_old_file(tmp_path):
    target = tmp_path / "cache.bin"
    target.write_bytes(b"good")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        Path(tmp).write_bytes(b"half")
        raise RuntimeError("killed")
    assert target.read_bytes() == b"good"
    assert os.listdir(tmp_path) == ["cache.bin"]


@given(st.dictionaries(st.text(max_size=5), st.integers() | st.text(max_size=5), max_size=5))
def test_fingerprint_ignores_key_order(mapping):
    reversed_mapping = dict(reversed(list(mapping.items())))
    assert fingerprint(mapping) == fingerprint(reversed_mapping)


def test_fingerprint_changes_with_content(tmp_path):
    assert fingerprint({"p": 0.1}) != fingerprint({"p": 0.2})
    path = tmp_path / "w"
    path.write_bytes(b"a")
    first = fingerprint_file(path)
    path.write_bytes(b"b")
    assert fingerprint_file(path) != first
    with pytest.raises(TypeError):
        fingerprint({"x": object()})
