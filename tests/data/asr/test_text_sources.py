"""The Debian text sources: a clear error when a package is missing; readers (skipped without the packages)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from crossdistill.data.asr import text, text_sources
from crossdistill.data.asr.text_normalize import NORMALIZED

KJV = pytest.mark.skipif(text_sources.package_version("bible-kjv") is None, reason="bible-kjv not installed")
DEVIL = pytest.mark.skipif(text_sources.package_version("dict-devil") is None, reason="dict-devil not installed")
SWORD = pytest.mark.skipif(
    any(text_sources.package_version(p) is None for p in ("sword-comm-scofield", "libsword-utils")),
    reason="sword-comm-scofield or libsword-utils not installed",
)
ALL = pytest.mark.skipif(
    any(text_sources.package_version(p) is None for p in text_sources.PACKAGES), reason="Debian text packages absent"
)


def test_missing_package_names_package_and_command(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(text_sources, "package_version", lambda p: None if p == "dict-jargon" else "1.0")
    with pytest.raises(FileNotFoundError, match=r"dict-jargon .*jargon.*apt-get install --no-install-recommends"):
        text.load_text_splits("debian", cache_dir=tmp_path)
    assert not any(tmp_path.iterdir())  # nothing written before the check


def test_every_package_is_in_the_install_list() -> None:
    script = (Path(__file__).parents[3] / "scripts" / "install-system-packages.sh").read_text(encoding="utf-8")
    assert "text_sources import PACKAGES" in script
    assert set(text_sources.PACKAGES) == {p for s in text_sources.SOURCES for p in s.packages}


@KJV
def test_kjv_is_read_by_book() -> None:
    documents = text_sources.read_kjv()
    assert len(documents) == 66
    genesis = documents[0]
    assert genesis.group == "bible:Gen"
    assert genesis.paragraphs[0].startswith("In the beginning God created the heaven and the earth.")


@DEVIL
def test_devil_entries_lose_their_headword() -> None:
    documents = {d.group: d for d in text_sources.read_devil()}
    assert documents["devil:abasement"].paragraphs[0].startswith("A decent and customary mental attitude")


@SWORD
def test_sword_commentary_is_plain_text_grouped_by_book() -> None:
    documents = text_sources.SOURCES[[s.name for s in text_sources.SOURCES].index("scofield")].read()
    assert {d.group for d in documents} >= {"bible:Gen", "bible:Rev"}
    paragraphs = [p for d in documents for p in d.paragraphs]
    assert not any(re.search(r"<[^>]*>|/>", p) for p in paragraphs)


@ALL
@pytest.mark.slow
def test_debian_splits_are_cached_and_identical(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    if "slow" not in request.config.option.markexpr:
        pytest.skip("reads all Debian text sources (about a minute): run with -m slow")
    first = text.load_text_splits("debian", seed=0, cache_dir=tmp_path)
    (cached,) = (tmp_path / "asr-text").iterdir()
    again = text.load_text_splits("debian", seed=0, cache_dir=tmp_path)
    assert again == first
    assert all(NORMALIZED.fullmatch(s) for s in first.am_test)
    assert not (set(first.lm_train) | set(first.lm_valid)) & (set(first.am_dev) | set(first.am_test))
    shutil.rmtree(tmp_path / "asr-text")
    assert not cached.exists()
