"""The senone tree: likelihood-gain splits, leaf counts, answers for every context, the readable file."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crossdistill.data.asr.phones import PHONE_IDS, PHONES
from crossdistill.data.asr.units.questions import PHONETIC_CLASSES, default_questions
from crossdistill.data.asr.units.tree import (
    VAR_FLOOR,
    Leaf,
    Split,
    accumulate_stats,
    build_senone_tree,
    read_tree,
    write_tree,
)

P = len(PHONES)


def random_contexts(rng: np.random.Generator, n: int, phones: list[str]) -> np.ndarray:
    ids = [PHONE_IDS[p] for p in phones]
    return np.stack(
        [rng.choice(ids, n), rng.integers(0, 3, n), rng.integers(0, P, n), rng.integers(0, P, n)], axis=1
    ).astype(np.int64)


@pytest.fixture(scope="module")
def planted():
    """Frames of T and AH whose mean jumps by 4 when the left neighbour is a nasal; nothing else matters."""
    rng = np.random.default_rng(0)
    contexts, features = [], []
    nasal = np.isin(np.arange(P), [PHONE_IDS[p] for p in PHONETIC_CLASSES["NASAL"]])
    for _ in range(40):
        c = random_contexts(rng, 400, ["T", "AH"])
        contexts.append(c)
        features.append(rng.normal(size=(400, 80)) + 4.0 * nasal[c[:, 2]][:, None])
    stats = accumulate_stats(contexts, iter(features), P, 80)
    return contexts, features, stats


def test_stats_are_the_sums_of_the_frames(planted):
    contexts, features, stats = planted
    all_contexts, all_frames = np.concatenate(contexts), np.concatenate(features)
    for row in (0, len(stats.keys) // 2, len(stats.keys) - 1):
        chosen = (all_contexts == stats.keys[row]).all(axis=1)
        assert stats.count[row] == chosen.sum()
        np.testing.assert_allclose(stats.sums[row], all_frames[chosen].sum(axis=0))
        np.testing.assert_allclose(stats.squares[row], (all_frames[chosen] ** 2).sum(axis=0))
    assert stats.frames == len(all_frames)


def test_first_split_finds_the_planted_context_with_the_gain_of_two_gaussians(planted):
    contexts, features, stats = planted
    tree = build_senone_tree(stats, PHONES, default_questions(), num_leaves=3 * P + 6, min_leaf_frames=50)
    all_contexts, all_frames = np.concatenate(contexts), np.concatenate(features)
    for phone in ("T", "AH"):
        for state in range(3):
            root = tree.roots[PHONE_IDS[phone] * 3 + state]
            assert isinstance(root, Split)
            assert (root.side, root.question) == ("left", "NASAL")
            # the recorded gain equals the log-likelihood gain of fitting one diagonal Gaussian per side directly
            node = (all_contexts[:, 0] == PHONE_IDS[phone]) & (all_contexts[:, 1] == state)
            yes = node & np.isin(all_contexts[:, 2], [PHONE_IDS[p] for p in PHONETIC_CLASSES["NASAL"]])

            def loglik(mask):
                var = np.maximum(all_frames[mask].var(axis=0), VAR_FLOOR)
                return -0.5 * mask.sum() * (np.log(2 * np.pi * var).sum() + 80)

            expected = loglik(yes) + loglik(node & ~yes) - loglik(node)
            assert root.gain == pytest.approx(expected, rel=1e-6)
            assert root.frames == node.sum()


@pytest.mark.parametrize("num_leaves, min_frames", [(3 * P, 50), (3 * P + 20, 50), (3 * P + 500, 300)])
def test_leaf_count_and_minimum_frames(planted, num_leaves, min_frames):
    _, _, stats = planted
    tree = build_senone_tree(stats, PHONES, default_questions(), num_leaves=num_leaves, min_leaf_frames=min_frames)
    leaves = tree.leaves()
    assert [leaf.senone for leaf in leaves] == list(range(len(leaves)))
    assert len(leaves) <= num_leaves
    if num_leaves == 3 * P + 20:
        assert len(leaves) == num_leaves  # enough data for 20 splits of >= 50 frames
    splits = [node for root in tree.roots for node in _nodes(root) if isinstance(node, Split)]
    assert len(splits) == len(leaves) - 3 * P
    for node in splits:
        assert node.yes.frames >= min_frames and node.no.frames >= min_frames
        assert node.yes.frames + node.no.frames == node.frames


def _nodes(node):
    yield node
    if isinstance(node, Split):
        yield from _nodes(node.yes)
        yield from _nodes(node.no)


@pytest.fixture(scope="module")
def grown(planted):
    _, _, stats = planted
    return build_senone_tree(stats, PHONES, default_questions(), num_leaves=3 * P + 40, min_leaf_frames=20)


@pytest.fixture(scope="module")
def grown_table(grown):
    return grown.table()


@settings(max_examples=200, deadline=None)
@given(st.integers(0, P - 1), st.integers(0, 2), st.integers(0, P - 1), st.integers(0, P - 1))
def test_every_context_seen_or_not_has_exactly_one_senone(grown, grown_table, phone, state, left, right):
    table = grown_table
    assert table.shape == (P, 3, P, P)
    senone = grown.senone(PHONES[left], PHONES[phone], PHONES[right], state)
    assert table[phone, state, left, right] == senone
    leaf = grown.leaves()[senone]
    assert leaf.name.startswith(f"{PHONES[phone]}_s{state + 1}_")


def test_table_is_total_and_roots_own_their_senones(grown):
    table = grown.table()
    assert table.min() >= 0 and table.max() == len(grown.leaves()) - 1
    for phone in range(P):
        for state in range(3):
            names = {grown.leaves()[s].name for s in np.unique(table[phone, state])}
            assert all(name.startswith(f"{PHONES[phone]}_s{state + 1}_") for name in names)
    # phones without audio keep one leaf per state, answering every context
    assert len(np.unique(table[PHONE_IDS["ZH"], 0])) == 1


def test_tree_file_round_trip(grown, tmp_path):
    write_tree(tmp_path / "senone_tree.txt", grown, "made by a test")
    back = read_tree(tmp_path / "senone_tree.txt", PHONES)
    assert back.names() == grown.names()
    np.testing.assert_array_equal(back.table(), grown.table())
    text = (tmp_path / "senone_tree.txt").read_text()
    assert "root T s1\n  ask left NASAL" in text


def test_tree_file_errors_name_the_line(grown, tmp_path):
    path = tmp_path / "senone_tree.txt"
    write_tree(path, grown)
    lines = path.read_text().splitlines()
    number = next(i for i, line in enumerate(lines) if line.strip().startswith("no leaf")) + 1
    lines[number - 1] = lines[number - 1].replace("no leaf", "maybe leaf")
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ValueError, match=f"senone_tree.txt:{number}:"):
        read_tree(path, PHONES)


def test_too_few_senones_is_an_error(planted):
    with pytest.raises(ValueError, match="at least 123"):
        build_senone_tree(planted[2], PHONES, default_questions(), num_leaves=100, min_leaf_frames=10)


def test_same_statistics_give_the_same_tree(planted):
    _, _, stats = planted
    a = build_senone_tree(stats, PHONES, default_questions(), num_leaves=3 * P + 30, min_leaf_frames=20)
    b = build_senone_tree(stats, PHONES, default_questions(), num_leaves=3 * P + 30, min_leaf_frames=20)
    assert a == b
    assert isinstance(a.leaves()[0], Leaf)
