"""Senones: triphone HMM states tied by a phonetic-question decision tree, as Kaldi's ``build-tree`` does.

Statistics: for every context ``(phone, state, left, right)`` seen in the training audio, the frame count and
the per-dimension sums and sums of squares of its 80-dim fbank frames (``accumulate_stats``), computed in one
pass over the features.

Tree: one root per ``(phone, state)`` (41 phones x 3 states, HTK-style per-state roots; Kaldi shares a root
across a phone's states and splits on the state first, which ends the same way for 3-state phones). A node
is split by the question about the left or right neighbour (``questions.py``) whose split has the largest
gain in log-likelihood of the node's frames under one diagonal Gaussian per side, each side keeping at least
``min_leaf_frames`` frames; variances are floored at ``VAR_FLOOR`` as Kaldi's ``GaussClusterable`` does.
Splits are made greedily across all roots, best gain first, until there are ``num_leaves`` leaves or no
leaf can be split (Kaldi's ``SplitDecisionTree`` with ``--max-leaves``; we skip Kaldi's later merging of
leaves, so leaves = senones). Roots without audio stay one leaf each.

Every question can be asked of any phone, so any context, seen in the audio or not (the LM text holds far
more triphones than the audio), reaches exactly one leaf: the tree answers all ``41 x 3 x 41 x 41`` contexts
(``SenoneTree.table``).
"""

from __future__ import annotations

import heapq
import itertools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from crossdistill.common import atomic_write_text
from crossdistill.data.asr.units.contexts import N_STATES

VAR_FLOOR = 0.01  # Kaldi's GaussClusterable variance floor (build-tree's default)
SIDES = ("left", "right")
_SIDE_COLUMN = {"left": 2, "right": 3}


@dataclass
class GaussianStats:
    """Sufficient statistics of one diagonal Gaussian per context seen in the audio.

    keys: (N, 4) int64 rows ``(phone, state, left, right)``, unique, sorted.
    count: (N,) frames of each context. sums, squares: (N, D) per-dimension sums of the frames and of their
    squares (float64).
    """

    keys: np.ndarray
    count: np.ndarray
    sums: np.ndarray
    squares: np.ndarray

    @property
    def frames(self) -> int:
        return int(self.count.sum())


def accumulate_stats(
    contexts: list[np.ndarray], features: Iterable[np.ndarray], n_phones: int, dim: int
) -> GaussianStats:
    """Statistics of every context from the utterances' frame contexts and their features, in one pass.

    contexts: per utterance, the (T, 4) rows of ``frame_contexts``; features: per utterance in the same order,
    its (T, D) frames (read lazily, one utterance at a time). Sums run in frame order, so results are exact
    repeats on any machine.
    """
    flat = [_flat_keys(c, n_phones) for c in contexts]
    unique, inverse = np.unique(np.concatenate(flat) if flat else np.zeros(0, np.int64), return_inverse=True)
    sums = np.zeros((len(unique), dim))
    squares = np.zeros((len(unique), dim))
    offset = 0
    for number, (keys, frames) in enumerate(zip(flat, features, strict=True)):
        if frames.ndim != 2 or frames.shape != (len(keys), dim):
            raise ValueError(
                f"utterance {number}: features of shape {frames.shape}, expected ({len(keys)}, {dim}) "
                "(one row per 10 ms frame of the alignment)"
            )
        rows = inverse[offset : offset + len(keys)]
        offset += len(keys)
        frames = frames.astype(np.float64)
        np.add.at(sums, rows, frames)
        np.add.at(squares, rows, frames * frames)
    count = np.bincount(inverse, minlength=len(unique)).astype(np.float64)
    return GaussianStats(keys=_unflatten_keys(unique, n_phones), count=count, sums=sums, squares=squares)


def _flat_keys(contexts: np.ndarray, n_phones: int) -> np.ndarray:
    phone, state, left, right = contexts.T
    return ((phone * N_STATES + state) * n_phones + left) * n_phones + right


def _unflatten_keys(flat: np.ndarray, n_phones: int) -> np.ndarray:
    rest, right = np.divmod(flat, n_phones)
    rest, left = np.divmod(rest, n_phones)
    phone, state = np.divmod(rest, N_STATES)
    return np.stack([phone, state, left, right], axis=1).astype(np.int64)


@dataclass(frozen=True)
class Leaf:
    """A senone: ``senone`` is its id (line of senone.txt), ``name`` e.g. ``AH_s2_17``; ``frames`` of audio."""

    senone: int
    name: str
    frames: int


@dataclass(frozen=True)
class Split:
    """Asks whether the ``side`` neighbour is in ``question``; ``gain`` is the log-likelihood gain of the split."""

    side: str
    question: str
    gain: float
    frames: int
    yes: Node
    no: Node


Node = Leaf | Split


@dataclass(frozen=True)
class SenoneTree:
    """The tied-state mapping: ``roots[phone * 3 + state]`` is the tree of that phone state."""

    phones: tuple[str, ...]
    questions: dict[str, tuple[str, ...]]
    roots: tuple[Node, ...]

    def leaves(self) -> list[Leaf]:
        """All leaves in senone-id order."""
        return sorted((leaf for root in self.roots for leaf in _iter_leaves(root)), key=lambda leaf: leaf.senone)

    def names(self) -> list[str]:
        return [leaf.name for leaf in self.leaves()]

    def table(self) -> np.ndarray:
        """Senone id of every context: int32 array indexed ``[phone, state, left, right]``."""
        n = len(self.phones)
        table = np.full((n, N_STATES, n, n), -1, dtype=np.int32)
        members = {name: np.isin(self.phones, phones) for name, phones in self.questions.items()}
        for index, root in enumerate(self.roots):
            phone, state = divmod(index, N_STATES)
            _fill(root, np.ones((n, n), dtype=bool), table[phone, state], members)
        return table

    def senone(self, left: str, phone: str, right: str, state: int) -> int:
        """The senone id of one context given as phone symbols (any phones of the inventory, seen or not)."""
        index = {p: i for i, p in enumerate(self.phones)}
        node = self.roots[index[phone] * N_STATES + state]
        while isinstance(node, Split):
            neighbour = left if node.side == "left" else right
            node = node.yes if neighbour in self.questions[node.question] else node.no
        return node.senone


def _iter_leaves(node: Node) -> Iterator[Leaf]:
    if isinstance(node, Leaf):
        yield node
    else:
        yield from _iter_leaves(node.yes)
        yield from _iter_leaves(node.no)


def _fill(node: Node, mask: np.ndarray, out: np.ndarray, members: dict[str, np.ndarray]) -> None:
    if isinstance(node, Leaf):
        out[mask] = node.senone
        return
    member = members[node.question]
    inside = member[:, None] if node.side == "left" else member[None, :]
    _fill(node.yes, mask & inside, out, members)
    _fill(node.no, mask & ~inside, out, members)


@dataclass
class _Grown:
    """A node while the tree grows: its statistics rows and its best split (None: it cannot split)."""

    rows: np.ndarray
    frames: int
    split: tuple[float, str, str, np.ndarray, np.ndarray] | None = None  # gain, side, question, yes rows, no rows
    yes: _Grown | None = None
    no: _Grown | None = None


class _Grower:
    def __init__(
        self, stats: GaussianStats, phones: tuple[str, ...], questions: dict[str, tuple[str, ...]], min_frames
    ):
        self.stats = stats
        self.n_phones = len(phones)
        self.question_names = list(questions)
        self.question_masks = np.array([np.isin(phones, questions[q]) for q in self.question_names], dtype=np.float64)
        self.min_frames = min_frames

    def node(self, rows: np.ndarray) -> _Grown:
        node = _Grown(rows=rows, frames=round(float(self.stats.count[rows].sum())))
        node.split = self.best_split(rows)
        return node

    def best_split(self, rows: np.ndarray):
        stats = self.stats
        if len(rows) < 2 or stats.count[rows].sum() < 2 * self.min_frames:
            return None
        count, sums, squares = stats.count[rows], stats.sums[rows], stats.squares[rows]
        total = (count.sum(), sums.sum(axis=0), squares.sum(axis=0))
        parent = _log_likelihood(total[0][None], total[1][None], total[2][None])[0]
        best = None
        for side in SIDES:
            context = stats.keys[rows, _SIDE_COLUMN[side]]
            by_phone_count = np.bincount(context, weights=count, minlength=self.n_phones)
            by_phone_sums = np.zeros((self.n_phones, sums.shape[1]))
            by_phone_squares = np.zeros_like(by_phone_sums)
            np.add.at(by_phone_sums, context, sums)
            np.add.at(by_phone_squares, context, squares)
            # einsum without BLAS: the same sums in the same order on any machine and thread count.
            yes_count = np.einsum("qp,p->q", self.question_masks, by_phone_count)
            no_count = total[0] - yes_count
            valid = np.flatnonzero((yes_count >= self.min_frames) & (no_count >= self.min_frames))
            if not valid.size:
                continue
            masks = self.question_masks[valid]
            yes_sums = np.einsum("qp,pd->qd", masks, by_phone_sums)
            yes_squares = np.einsum("qp,pd->qd", masks, by_phone_squares)
            gains = (
                _log_likelihood(yes_count[valid], yes_sums, yes_squares)
                + _log_likelihood(no_count[valid], total[1] - yes_sums, total[2] - yes_squares)
                - parent
            )
            pick = int(np.argmax(gains))  # first of equal gains: question order decides ties
            if best is None or gains[pick] > best[0]:
                question = self.question_names[valid[pick]]
                best = (float(gains[pick]), side, question)
        if best is None or not best[0] > 0:
            return None
        gain, side, question = best
        member = self.question_masks[self.question_names.index(question)].astype(bool)
        inside = member[stats.keys[rows, _SIDE_COLUMN[side]]]
        return gain, side, question, rows[inside], rows[~inside]


def _log_likelihood(count: np.ndarray, sums: np.ndarray, squares: np.ndarray) -> np.ndarray:
    """Log-likelihood of frames under their ML diagonal Gaussian, up to a term linear in count (which cancels
    in a split's gain): -count/2 * sum_d log(var_d)."""
    mean = sums / count[:, None]
    var = np.maximum(squares / count[:, None] - mean * mean, VAR_FLOOR)
    return -0.5 * count * np.log(var).sum(axis=1)


def build_senone_tree(
    stats: GaussianStats,
    phones: tuple[str, ...],
    questions: dict[str, tuple[str, ...]],
    num_leaves: int,
    min_leaf_frames: int,
) -> SenoneTree:
    """Grow the tree greedily (largest gain first, across all roots) to ``num_leaves`` leaves or until no leaf
    can be split; see the module docstring."""
    n_roots = len(phones) * N_STATES
    if num_leaves < n_roots:
        raise ValueError(f"the number of senones must be at least {n_roots} (one per phone state), got {num_leaves}")
    if min_leaf_frames < 1:
        raise ValueError(f"min_leaf_frames must be >= 1, got {min_leaf_frames}")
    grower = _Grower(stats, phones, questions, min_leaf_frames)
    root_of_row = stats.keys[:, 0] * N_STATES + stats.keys[:, 1]
    roots = [grower.node(np.flatnonzero(root_of_row == index)) for index in range(n_roots)]
    serial = itertools.count()
    heap = [(-node.split[0], next(serial), node) for node in roots if node.split]
    heapq.heapify(heap)
    leaves = n_roots
    while leaves < num_leaves and heap:
        _, _, node = heapq.heappop(heap)
        _, _, _, yes_rows, no_rows = node.split
        node.yes, node.no = grower.node(yes_rows), grower.node(no_rows)
        for child in (node.yes, node.no):
            if child.split:
                heapq.heappush(heap, (-child.split[0], next(serial), child))
        leaves += 1
    counter = itertools.count()
    frozen = []
    for index, root in enumerate(roots):
        phone, state = divmod(index, N_STATES)
        per_root = itertools.count()
        frozen.append(_freeze(root, f"{phones[phone]}_s{state + 1}", counter, per_root))
    return SenoneTree(phones=tuple(phones), questions=dict(questions), roots=tuple(frozen))


def _freeze(node: _Grown, prefix: str, counter, per_root) -> Node:
    if node.yes is None:
        return Leaf(senone=next(counter), name=f"{prefix}_{next(per_root)}", frames=node.frames)
    gain, side, question, _, _ = node.split
    yes = _freeze(node.yes, prefix, counter, per_root)
    no = _freeze(node.no, prefix, counter, per_root)
    return Split(side=side, question=question, gain=gain, frames=node.frames, yes=yes, no=no)


# --- the readable file -------------------------------------------------------------------------------------

TREE_HEADER = """\
# crossdistill senone tree: tied triphone HMM states (paper 001's senones), written by `crossdistill asr units`.
# Each phone is a 3-state HMM (s1 s2 s3); each (phone, state) has its own tree. To find the senone of a
# context (left, phone, right, state), start at `root PHONE sSTATE` and answer each `ask SIDE QUESTION`: is the
# left (or right) neighbour in that question's phone set? The line after an `ask` line is its `yes` branch,
# followed (after the yes subtree) by its `no` branch. A `leaf` line names the senone; its id is its position
# in senone.txt. Utterance edges count as SIL neighbours. frames = training frames that reached the node;
# gain = log-likelihood gain of the split (one diagonal Gaussian per side on 80-dim fbank frames).
# Contexts never seen in the audio follow the same questions, so every context has exactly one senone.
"""


def write_tree(path: str | Path, tree: SenoneTree, description: str = "") -> None:
    """Write ``tree`` as the readable text file (atomically)."""
    lines = [TREE_HEADER.rstrip("\n")]
    lines += [f"# {line}" for line in description.splitlines()]
    lines += [f"question {name} {' '.join(phones)}" for name, phones in tree.questions.items()]
    for index, root in enumerate(tree.roots):
        phone, state = divmod(index, N_STATES)
        lines.append(f"root {tree.phones[phone]} s{state + 1}")
        _write_node(root, 1, "", lines)
    atomic_write_text(path, "\n".join(lines) + "\n")


def _write_node(node: Node, depth: int, prefix: str, lines: list[str]) -> None:
    indent = "  " * depth
    if isinstance(node, Leaf):
        lines.append(f"{indent}{prefix}leaf {node.name} frames={node.frames}")
        return
    lines.append(f"{indent}{prefix}ask {node.side} {node.question} gain={node.gain:.3f} frames={node.frames}")
    _write_node(node.yes, depth + 1, "yes ", lines)
    _write_node(node.no, depth + 1, "no ", lines)


_NODE_LINE = re.compile(
    r"^(?:(?P<branch>yes|no) )?(?:leaf (?P<name>\S+) frames=(?P<leaf_frames>\d+)"
    r"|ask (?P<side>left|right) (?P<question>\S+) gain=(?P<gain>\S+) frames=(?P<frames>\d+))$"
)


def read_tree(path: str | Path, phones: tuple[str, ...]) -> SenoneTree:
    """Read a tree written by ``write_tree``; ``ValueError`` naming file and line for anything malformed."""
    path = Path(path)
    lines = [
        (number, line.strip())
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if line.strip() and not line.startswith("#")
    ]
    questions: dict[str, tuple[str, ...]] = {}
    roots: dict[int, Node] = {}
    counter = itertools.count()
    position = 0

    def fail(number: int, message: str):
        raise ValueError(f"{path}:{number}: {message}")

    def parse_node(branch: str | None) -> Node:
        nonlocal position
        if position >= len(lines):
            fail(lines[-1][0] if lines else 0, "the file ends inside a tree")
        number, text = lines[position]
        position += 1
        match = _NODE_LINE.match(text)
        if not match or match["branch"] != branch:
            fail(
                number, f"expected a {branch + ' ' if branch else ''}node line (`leaf ...` or `ask ...`), got {text!r}"
            )
        if match["name"]:
            return Leaf(senone=next(counter), name=match["name"], frames=int(match["leaf_frames"]))
        if match["question"] not in questions:
            fail(number, f"unknown question {match['question']!r}")
        yes = parse_node("yes")
        no = parse_node("no")
        frames = int(match["frames"])
        return Split(match["side"], match["question"], float(match["gain"]), frames, yes, no)

    while position < len(lines):
        number, text = lines[position]
        fields = text.split()
        position += 1
        if fields[0] == "question" and len(fields) >= 3:
            outside = [p for p in fields[2:] if p not in phones]
            if outside:
                fail(number, f"question {fields[1]} names phones outside the inventory: {' '.join(outside)}")
            questions[fields[1]] = tuple(fields[2:])
        elif fields[0] == "root" and len(fields) == 3 and fields[1] in phones and fields[2] in ("s1", "s2", "s3"):
            index = phones.index(fields[1]) * N_STATES + int(fields[2][1]) - 1
            if index != len(roots):
                fail(number, f"root {fields[1]} {fields[2]} is out of order (roots follow PHONES, states s1 s2 s3)")
            roots[index] = parse_node(None)
        else:
            fail(number, f"expected `question NAME PHONES...` or `root PHONE sN`, got {text!r}")
    missing = [f"{phones[i // N_STATES]} s{i % N_STATES + 1}" for i in range(len(phones) * N_STATES) if i not in roots]
    if missing:
        raise ValueError(f"{path}: no tree for {', '.join(missing[:5])}{' ...' if len(missing) > 5 else ''}")
    tree = SenoneTree(phones=tuple(phones), questions=questions, roots=tuple(roots[i] for i in sorted(roots)))
    names = tree.names()
    if len(set(names)) != len(names):
        raise ValueError(f"{path}: senone names are not unique")
    return tree
