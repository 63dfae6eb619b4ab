import pytest
import torch

from crossdistill.data.asr.units.subwords import SubwordModel
from crossdistill.teachers.lm.config import load_lm_train_config
from crossdistill.teachers.lm.model import LSTMLanguageModel
from crossdistill.teachers.lm.posteriors import CacheOptions
from crossdistill.teachers.lm.training import train_lm
from crossdistill.teachers.lm.transcripts import (
    build_transcript_cache,
    expected_transcript_key,
    load_transcript_posteriors,
)

from .conftest import make_inputs, write_units_folder

TINY = {"model.embedding_dim": 16, "model.hidden_dim": 24, "model.num_layers": 2, "batch_size": 16, "lr": 0.01,
        "threads": 1, "trainer.accelerator": "cpu", "trainer.progress_bar": "false", "epochs": 3}  # fmt: skip


@pytest.fixture(scope="module")
def subword_lm(tmp_path_factory):
    root = tmp_path_factory.mktemp("lm_transcripts")
    units = write_units_folder(root)
    out = root / "subword"
    overrides = {"units": units, "unit": "subword", "out": out, **TINY}
    train_lm(load_lm_train_config(None, [f"{k}={v}" for k, v in overrides.items()]))
    return units, out, make_inputs(root / "inputs")  # the inputs the units were built from: the "corpus"


def test_rows_predict_each_token_then_the_end(subword_lm, tmp_path):
    units, lm_dir, corpus = subword_lm
    summary = build_transcript_cache(CacheOptions(lm=lm_dir, corpus=corpus, top_k=0, out=tmp_path / "c",
                                                  progress=False))  # fmt: skip
    cache = load_transcript_posteriors(summary["cache"], expected_transcript_key(lm_dir, units, corpus, top_k=0))
    lm = LSTMLanguageModel.from_pretrained(lm_dir)
    model = SubwordModel(units / "subword.model")
    ids = lm.vocabulary.ids()
    sil, end, boundary = ids["<sil>"], ids["</s>"], lm.vocabulary.boundary
    utterances = [u for split in sorted(corpus.splits) for u in corpus.splits[split]]
    assert summary["utterances"] == len(utterances)
    assert summary["transcripts"] == len({u.words for u in utterances}) < len(utterances)
    for utterance in utterances:
        targets = cache.utterance(utterance.utt_id)
        tokens = [p for piece_ids in model.encode_words(list(utterance.words)) for p in piece_ids]
        assert targets.text == " ".join(utterance.words) and targets.tokens.tolist() == tokens
        with torch.no_grad():
            probs = torch.softmax(lm(torch.tensor([[boundary, sil, *tokens]]))[0].double(), -1)
        expected = probs[1:, : lm.vocabulary.size].clone()  # rows predicting y_1 .. y_n and the end
        expected[:, end] += probs[1:, sil] + probs[1:, boundary]
        expected[:, sil] = 0
        dense = targets.dense()
        assert dense.shape == (len(tokens) + 1, lm.vocabulary.size)
        assert torch.allclose(dense.double(), expected, atol=1e-5)
        assert torch.allclose(dense.sum(-1), torch.ones(len(tokens) + 1), atol=1e-5)
    # A trained LM puts the end where the sentence ends: the last row's argmax is </s>, the others a piece.
    last = torch.stack([cache.transcript(i).dense()[-1] for i in range(len(cache.texts))])
    assert (last.argmax(-1) == end).float().mean() > 0.9


def test_key_reuse_and_refusals(subword_lm, tmp_path):
    units, lm_dir, corpus = subword_lm
    first = build_transcript_cache(CacheOptions(lm=lm_dir, corpus=corpus, top_k=4, progress=False))
    again = build_transcript_cache(CacheOptions(lm=lm_dir, corpus=corpus, top_k=4, progress=False))
    assert again["reused"] and again["key"] == first["key"]
    top = load_transcript_posteriors(first["cache"], first["key"]).transcript(0)
    assert top.probs.shape[1] == 4 and torch.allclose(top.dense().sum(-1), torch.ones(len(top.tokens) + 1))
    # Other transcripts (one utterance's words changed): another key; the old cache is refused for them.
    changed = make_inputs(tmp_path / "changed")
    first_utterance = changed.splits["dev"][0]
    changed.splits["dev"][0] = type(first_utterance)(first_utterance.utt_id, first_utterance.n_frames, ("THE", "CAT"))
    new_key = expected_transcript_key(lm_dir, units, changed, top_k=4)
    assert new_key != first["key"]
    with pytest.raises(ValueError, match="it was made from another LM"):
        load_transcript_posteriors(first["cache"], new_key)
    phone_lm = tmp_path / "phone"
    overrides = {"units": units, "unit": "phone", "out": phone_lm, **TINY, "epochs": 1}
    train_lm(load_lm_train_config(None, [f"{k}={v}" for k, v in overrides.items()]))
    with pytest.raises(ValueError, match="is a phone LM: transcript targets need the subword LM"):
        build_transcript_cache(CacheOptions(lm=phone_lm, corpus=corpus, progress=False))
