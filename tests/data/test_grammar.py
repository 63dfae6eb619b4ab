"""The command grammar: FSC's slot structure, enough phrasings, each phrasing belonging to one intent."""

from __future__ import annotations

import pytest

from crossdistill.data.grammar import load_grammar

# The 31 (action, object, location) intents of Fluent Speech Commands.
FSC_INTENTS = {
    ("activate", "music", "none"),
    ("activate", "lights", "none"),
    ("activate", "lights", "kitchen"),
    ("activate", "lights", "bedroom"),
    ("activate", "lights", "washroom"),
    ("activate", "lamp", "none"),
    ("deactivate", "music", "none"),
    ("deactivate", "lights", "none"),
    ("deactivate", "lights", "kitchen"),
    ("deactivate", "lights", "bedroom"),
    ("deactivate", "lights", "washroom"),
    ("deactivate", "lamp", "none"),
    ("increase", "volume", "none"),
    ("increase", "heat", "none"),
    ("increase", "heat", "kitchen"),
    ("increase", "heat", "bedroom"),
    ("increase", "heat", "washroom"),
    ("decrease", "volume", "none"),
    ("decrease", "heat", "none"),
    ("decrease", "heat", "kitchen"),
    ("decrease", "heat", "bedroom"),
    ("decrease", "heat", "washroom"),
    ("change language", "none", "none"),
    ("change language", "Chinese", "none"),
    ("change language", "Korean", "none"),
    ("change language", "English", "none"),
    ("change language", "German", "none"),
    ("bring", "newspaper", "none"),
    ("bring", "juice", "none"),
    ("bring", "socks", "none"),
    ("bring", "shoes", "none"),
}


def test_grammar_has_fsc_slot_structure():
    grammar = load_grammar()
    assert set(grammar.intents) == FSC_INTENTS
    assert len(grammar.intents) == 31
    assert [len(grammar.slot_values(i)) for i in range(3)] == [6, 14, 4]
    assert all(p.intent in FSC_INTENTS for p in grammar.phrasings)


def test_every_phrasing_maps_to_exactly_one_intent():
    grammar = load_grammar()
    texts = [p.text.lower() for p in grammar.phrasings]
    assert len(texts) >= 240
    assert len(set(texts)) == len(texts)
    owners: dict[str, set] = {}
    for p in grammar.phrasings:
        owners.setdefault(p.text.lower(), set()).add(p.intent)
    assert all(len(intents) == 1 for intents in owners.values())
    # Several ways to say every intent.
    per_intent = {i: sum(p.intent == i for p in grammar.phrasings) for i in grammar.intents}
    assert min(per_intent.values()) >= 5


def test_a_phrasing_under_two_intents_is_rejected(tmp_path):
    path = tmp_path / "grammar.yaml"
    path.write_text(
        "intents:\n"
        "  - {action: activate, object: lights, location: none, phrasings: [Lights on]}\n"
        "  - {action: activate, object: lamp, location: none, phrasings: [lights ON]}\n"
    )
    with pytest.raises(ValueError, match=r"intent entry 2: phrasing 'lights ON' also belongs to intent"):
        load_grammar(path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[]", "expected a mapping with an 'intents' list"),
        ("intents:\n  - {action: a, object: b, phrasings: [x]}\n", "intent entry 1: missing location"),
        ("intents:\n  - {action: a, object: b, location: c, phrasings: ['  ']}\n", "empty phrasing"),
    ],
)
def test_malformed_grammar_files(tmp_path, text, message):
    path = tmp_path / "grammar.yaml"
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        load_grammar(path)
