import json

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from crossdistill.teachers.lm.inference import iterate_log_probs, length_sorted_batches, perplexity, unigram_perplexity
from crossdistill.teachers.lm.model import LMConfig, LSTMLanguageModel, lm_fingerprint
from crossdistill.teachers.lm.text import (
    IGNORE_INDEX,
    TextSelection,
    UnitSentences,
    make_lm_batch,
    read_unit_sentences,
)
from crossdistill.teachers.lm.vocabulary import InventoryMismatch, UnitVocabulary, read_inventory


def _tiny_lm(seed: int = 0, symbols=("A", "B", "C")) -> LSTMLanguageModel:
    torch.manual_seed(seed)
    config = LMConfig(unit="phone", inventory=symbols, embedding_dim=8, hidden_dim=8, num_layers=2, dropout=0.0)
    return LSTMLanguageModel(config).eval()


def test_inventory_and_text_errors_name_file_and_line(tmp_path):
    inventory = tmp_path / "phone.txt"
    inventory.write_text("A\nB\nB\n")
    with pytest.raises(ValueError, match="lists 'B' twice"):
        read_inventory(inventory, "phone")
    inventory.write_text("A\n\nB\n")
    with pytest.raises(ValueError, match="line 2"):
        read_inventory(inventory, "phone")
    inventory.write_text("A\nB\n")
    vocabulary = read_inventory(inventory, "phone")
    text = tmp_path / "phone.train.txt"
    text.write_text("A B\n\nB A A\nA Q\n")
    with pytest.raises(ValueError, match=r"phone\.train\.txt, line 4: 'Q' is not in the phone inventory"):
        read_unit_sentences(text, vocabulary)
    text.write_text("A B\n\nB A A\n")
    sentences = read_unit_sentences(text, vocabulary)  # the blank line is skipped
    assert [s.tolist() for s in (sentences[0], sentences[1])] == [[0, 1], [1, 0, 0]]
    assert sentences.num_predictions == 5 + 2


def test_inventory_mismatch_names_size_or_first_differing_unit():
    vocabulary = UnitVocabulary("phone", ("A", "B", "C"))
    with pytest.raises(InventoryMismatch, match="has 2 phones but the LM was trained on 3"):
        vocabulary.check_matches(("A", "B"), "units/phone.txt")
    with pytest.raises(InventoryMismatch, match="names phone 1 'X' but the LM's phone 1 is 'B'"):
        vocabulary.check_matches(("A", "X", "C"), "units/phone.txt")
    vocabulary.check_matches(["A", "B", "C"], "units/phone.txt")


def test_lm_batch_is_shifted_by_one_with_boundaries():
    batch = make_lm_batch([torch.tensor([2, 0]), torch.tensor([1])], boundary=3)
    assert batch["inputs"].tolist() == [[3, 2, 0], [3, 1, 3]]
    assert batch["targets"].tolist() == [[2, 0, 3], [1, 3, IGNORE_INDEX]]
    assert batch["lengths"].tolist() == [3, 2]


def test_padding_leaves_a_sentence_s_log_probs_unchanged():
    lm = _tiny_lm()
    sentences = UnitSentences.from_lists([[0, 1, 2, 0, 1], [2], [1, 1]])
    batched = dict(iterate_log_probs(lm, sentences, batch_size=3))
    for i in range(len(sentences)):
        (alone,) = [lp for _, lp in iterate_log_probs(lm, UnitSentences.from_lists([sentences[i].tolist()]))]
        assert batched[i].shape == (len(sentences[i]) + 1, 4)
        assert torch.allclose(batched[i], alone, atol=1e-6)


def test_perplexity_matches_a_hand_computation_and_the_unigram_formula():
    lm = _tiny_lm()
    sentences = UnitSentences.from_lists([[0, 1], [2]])
    total = 0.0
    for ids in ([0, 1], [2]):
        with torch.no_grad():
            log_probs = torch.log_softmax(lm(torch.tensor([[3, *ids]])), dim=-1)[0]
        total += sum(float(log_probs[k, target]) for k, target in enumerate([*ids, 3]))
    assert perplexity(lm, sentences) == pytest.approx(np.exp(-total / 5), rel=1e-5)
    # Unigram: counts A=1, B=1, C=1, </s>=2 over 2 sentences, +1 each -> p = (2,2,2,3)/9.
    train = UnitSentences.from_lists([[0, 1], [2]])
    expected = np.exp(-(np.log(2 / 9) * 3 + np.log(3 / 9) * 2) / 5)
    assert unigram_perplexity(train, sentences, 3) == pytest.approx(expected)


def test_save_load_round_trip_and_fingerprint(tmp_path):
    lm = _tiny_lm()
    lm.save_pretrained(tmp_path / "lm")
    loaded = LSTMLanguageModel.from_pretrained(tmp_path / "lm")
    assert loaded.config.inventory == ("A", "B", "C")
    inputs = torch.tensor([[3, 0, 1]])
    assert torch.equal(lm(inputs), loaded(inputs))
    key = lm_fingerprint(tmp_path / "lm")
    _tiny_lm(seed=1).save_pretrained(tmp_path / "lm")
    assert lm_fingerprint(tmp_path / "lm") != key


def test_a_folder_that_is_not_an_lm_is_refused(tmp_path):
    with pytest.raises(FileNotFoundError, match="not found"):
        LSTMLanguageModel.from_pretrained(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="is not a trained LM"):
        LSTMLanguageModel.from_pretrained(tmp_path / "empty")
    other = tmp_path / "other"
    _tiny_lm().save_pretrained(other)
    config = json.loads((other / "config.json").read_text())
    (other / "config.json").write_text(json.dumps({**config, "kind": "slu"}))
    with pytest.raises(ValueError, match=r"is not a trained LM.*'slu'"):
        LSTMLanguageModel.from_pretrained(other)
    (other / "config.json").write_text(json.dumps(config))
    (other / "model.safetensors").write_bytes(b"not safetensors")
    with pytest.raises(ValueError, match="is not a trained LM"):
        LSTMLanguageModel.from_pretrained(other)


def test_a_sentence_subset_keeps_the_same_lines_in_every_unit(tmp_path):
    vocabulary = UnitVocabulary("phone", ("A", "B"))
    # Line i holds i + 1 units, so a sentence's length tells which line it came from.
    (tmp_path / "a.txt").write_text("".join(" ".join("A" * (i + 1)) + "\n" for i in range(20)))
    (tmp_path / "b.txt").write_text("".join(" ".join("B" * (i + 1)) + "\n\n" for i in range(20)))  # blank lines
    a = read_unit_sentences(tmp_path / "a.txt", vocabulary, TextSelection(max_sentences=6, seed=3))
    b = read_unit_sentences(tmp_path / "b.txt", vocabulary, TextSelection(max_sentences=6, seed=3))
    assert len(a) == 6 and a.lengths().tolist() == b.lengths().tolist()
    assert a.lengths().tolist() == sorted(a.lengths().tolist())  # file order kept
    other = read_unit_sentences(tmp_path / "a.txt", vocabulary, TextSelection(max_sentences=6, seed=4))
    assert other.lengths().tolist() != a.lengths().tolist()
    assert len(read_unit_sentences(tmp_path / "a.txt", vocabulary, TextSelection(max_sentences=50))) == 20
    short = read_unit_sentences(tmp_path / "a.txt", vocabulary, TextSelection(max_sentence_units=5))
    assert short.lengths().tolist() == [1, 2, 3, 4, 5] and short.skipped_long == 15


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.integers(1, 30), min_size=1, max_size=40),
    st.integers(1, 50),
    st.integers(1, 400),
    st.integers(5, 30),
    st.integers(0, 3),
)
def test_selection_respects_its_budgets_and_nests_across_units(lengths, max_sentences, max_units, longest, seed):
    lengths = np.array(lengths)
    selection = TextSelection(max_sentences, max_units, longest, seed)
    chosen, skipped = selection.choose(lengths)
    assert np.all(np.diff(chosen) > 0) and np.all(lengths[chosen] <= longest)
    assert len(chosen) <= max_sentences
    # The budget is reached with the last sentence taken, never before it.
    assert lengths[chosen].sum() - lengths[chosen].max(initial=0) < max_units or len(chosen) <= 1
    assert skipped <= int((lengths > longest).sum())
    # Another unit's text of the same sentences, every sentence twice as long (senones against phones): with the
    # same seed and unit budget its choice is a prefix of the same walk, hence a subset.
    longer, _ = TextSelection(max_sentences, max_units, 2 * longest, seed).choose(2 * lengths)
    assert set(longer.tolist()) <= set(chosen.tolist())
    if max_units >= lengths.sum() and max_sentences >= len(lengths):
        assert chosen.tolist() == np.flatnonzero(lengths <= longest).tolist()


def test_chunked_cross_entropy_equals_the_plain_one_with_gradients():
    lm = _tiny_lm()
    lm.train()
    inputs = torch.tensor([[3, 0, 1, 2, 0, 1], [3, 2, 2, 3, 3, 3]])
    targets = torch.tensor([[0, 1, 2, 0, 1, 3], [2, 2, 3, IGNORE_INDEX, IGNORE_INDEX, IGNORE_INDEX]])
    lm.dropout.p = 0.0  # the two computations must see the same activations
    plain = torch.nn.functional.cross_entropy(lm(inputs).flatten(0, 1), targets.flatten(), reduction="sum")
    plain_grads = torch.autograd.grad(plain, list(lm.parameters()))
    chunked = lm.summed_cross_entropy(inputs, targets, max_logits=2 * 4 * 2)  # two positions per chunk
    chunked_grads = torch.autograd.grad(chunked, list(lm.parameters()))
    assert torch.allclose(plain, chunked, atol=1e-5)
    assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip(plain_grads, chunked_grads, strict=True))


def test_scoring_batches_bound_their_padded_size():
    lengths = np.array([5, 1, 40, 3, 3, 9, 2])
    batches = length_sorted_batches(lengths, batch_size=3, max_units=12)
    assert sorted(i for b in batches for i in b) == list(range(7))
    for batch in batches:
        assert len(batch) <= 3
        width = max(lengths[i] for i in batch) + 1
        assert len(batch) == 1 or len(batch) * width <= 12
    assert [2] in batches  # longer than the cap: alone
