"""The CMU (radio) phone set of flite and festival onto eSpeak names and ARPAbet."""

from __future__ import annotations

import pytest

from crossdistill.data.asr.phones import PHONE_IDS, espeak_to_arpabet
from crossdistill.data.engines.phones import CMU_TO_ARPABET, CMU_TO_ESPEAK, cmu_to_arpabet, to_espeak_names


def test_both_tables_cover_the_same_phones_and_agree():
    assert set(CMU_TO_ARPABET) == set(CMU_TO_ESPEAK)
    for phone, name in CMU_TO_ESPEAK.items():
        # The eSpeak name paper 000 gets means, in ARPAbet, what paper 001 gets for the same phone.
        assert espeak_to_arpabet(name) == CMU_TO_ARPABET[phone], phone
        assert all(p in PHONE_IDS for p in CMU_TO_ARPABET[phone])


def test_espeak_names_pass_through_and_unknown_phones_are_named():
    assert to_espeak_names("espeak", ["'a", "b"]) == ["'a", "b"]
    assert to_espeak_names("cmu", ["dh", "ax"]) == ["D", "@"]
    with pytest.raises(ValueError, match="'q'"):
        to_espeak_names("cmu", ["q"])
    with pytest.raises(ValueError, match="'pau'"):
        cmu_to_arpabet("pau")  # pauses carry no segment, so never reach the table
    with pytest.raises(ValueError, match="phone set"):
        to_espeak_names("sampa", ["a"])
