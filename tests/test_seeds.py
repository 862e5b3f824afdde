"""Order-independent seeds: `derive_seed`'s properties, and what a real manifest prints."""

import json
import random

import numpy as np
import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from qbgen.assemble import assemble
from qbgen.plan import variant_labels
from qbgen.seeds import derive_seed, rng_for
from qbgen.spec import load_spec
from qbgen.writers.manifest import manifest_of

from .conftest import write_tree

exam_seeds = st.integers(0, 2**64)  # a spec's seed has no upper bound
variants = st.text(max_size=12)  # set labels and student ids, whatever a roster holds
keys = st.text(min_size=1, max_size=24)  # question ids, and "pool:...", "section:0", "options"


def seed(exam_seed, variant, key):
    s = derive_seed(exam_seed, variant, key)
    # A plain int (a manifest is JSON) that fits the generators' 32-bit seeds.
    assert type(s) is int and 0 <= s < 2**32, s
    return s


# Seeds of papers already set: rebuilding one from its exam seed and set must give the
# same numbers in another process (Python's hash() is salted per process) and in a later
# release. The first is docs/MANIFEST.md's example. A change here changes every paper.
@pytest.mark.parametrize(
    ("exam_seed", "variant", "key", "want"),
    [
        (2024, "", "lstm-vs-rnn-params", 2993697639),
        (7, "A", "rnn-layer-params", 3759396454),
        (7, "2024CS002", "momentum-backprop", 1802504359),
        (2**40 + 3, "Zoë", "q", 4229359864),
        (1, "a", "bc", 4249604585),
        (1, "ab", "c", 2958411800),
    ],
)
def test_seeds_of_set_papers_never_change(exam_seed, variant, key, want):
    assert seed(exam_seed, variant, key) == want


@given(exam_seeds, exam_seeds, variants, keys)
@example(1, 2**32 + 1, "", "q")  # an exam seed cut to 32 bits would repeat papers
def test_the_exam_seed_changes_every_seed(a, b, variant, key):
    assume(a != b)
    assert seed(a, variant, key) != seed(b, variant, key)


@given(exam_seeds, variants, variants, keys)
@example(5, "", "A", "q")
def test_the_variant_changes_every_seed(exam_seed, a, b, key):
    assume(a != b)
    assert seed(exam_seed, a, key) != seed(exam_seed, b, key)


@given(exam_seeds, variants, keys, keys)
@example(5, "", "q1", "q2")
def test_the_question_id_changes_its_seed(exam_seed, variant, a, b):
    assume(a != b)
    assert seed(exam_seed, variant, a) != seed(exam_seed, variant, b)


@given(exam_seeds, st.text(max_size=12), st.integers(0, 12), st.integers(0, 12))
@example(1, "abc", 1, 2)
@example(1, "a:b:c", 1, 2)
def test_variant_and_key_are_not_run_together(exam_seed, text, i, j):
    # Student "A1" on question "2x" is not student "A" on question "12x".
    assume(i != j and max(i, j) <= len(text))
    assert seed(exam_seed, text[:i], text[i:]) != seed(exam_seed, text[:j], text[j:])


@given(exam_seeds, keys, keys)
@example(1, "A", "q")
def test_variant_and_key_are_not_interchangeable(exam_seed, a, b):
    assume(a != b)
    assert seed(exam_seed, a, b) != seed(exam_seed, b, a)


def test_no_global_random_state_is_read_or_changed():
    # A seed's draws are the same whatever a bank's code did to the global generators,
    # and drawing them leaves those generators where they were.
    draws = []
    saved = random.getstate(), np.random.get_state()
    for global_seed in (1, 2):
        random.seed(global_seed)
        np.random.seed(global_seed)
        before = random.getstate(), np.random.get_state()[1].copy()
        draws.append((seed(7, "A", "q"), rng_for(seed(7, "A", "q")).random(3).tolist()))
        assert random.getstate() == before[0]
        assert (np.random.get_state()[1] == before[1]).all()
    random.setstate(saved[0])
    np.random.set_state(saved[1])
    assert draws[0] == draws[1]


def manifests(bank, root, count):
    # Each set's manifest as a build of this spec writes it (in process, without
    # typesetting): {set label: {question id: its manifest entry}}.
    loaded = load_spec(root / "midterm.yaml", bank)
    out = {}
    for label in variant_labels(count):
        m = json.loads(json.dumps(manifest_of(assemble(loaded, bank, variant=label))))
        assert (m["seed"], m["variant"]) == (31, label)
        out[label] = {q["id"]: q for q in m["questions"]}
    return out


BEFORE = """
    course: Deep Learning
    max_marks: 11
    seed: 31
    sections:
      - questions:
          - softmax-temperature
          - lstm-vs-rnn-params
          - pool: {topic: rnn, marks: 3}
"""
# The same spec edited: a question and a section added before the others, and the rest
# reordered. The added question is not in the pool's topic, so the pool's choices stay.
AFTER = """
    course: Deep Learning
    max_marks: 16
    seed: 31
    sections:
      - questions: [momentum-backprop]
      - questions:
          - pool: {topic: rnn, marks: 3}
          - softmax-temperature
          - lstm-vs-rnn-params
"""


def test_adding_and_reordering_questions_keeps_every_questions_numbers(bank, tmp_path):
    before = manifests(bank, write_tree(tmp_path / "before", {"midterm.yaml": BEFORE}), 4)
    after = manifests(bank, write_tree(tmp_path / "after", {"midterm.yaml": AFTER}), 4)
    pool_picks = set()
    fixed = {"softmax-temperature", "lstm-vs-rnn-params"}
    for v in before:
        (picked,) = set(before[v]) - fixed
        pool_picks.add(picked)
        assert set(after[v]) == set(before[v]) | {"momentum-backprop"}, v
        for qid, was in before[v].items():
            now = after[v][qid]
            assert now["number"] != was["number"], (v, qid)  # it did move
            # Its seed is of (exam seed, set, id), and the numbers printed are the same.
            assert now["seed"] == was["seed"] == seed(31, v, qid), (v, qid)
            assert (now["params"], now["answers"]) == (was["params"], was["answers"]), (v, qid)
            assert was["params"] or qid == picked, qid  # the fixed ones draw numbers
    # The pool is drawn per set, so keeping its pick above is not keeping a constant.
    assert len(pool_picks) > 1, pool_picks
    # Two sets of one spec print different numbers for every question.
    a, b = after["A"], after["B"]
    for qid in fixed | {"momentum-backprop"}:
        assert a[qid]["seed"] != b[qid]["seed"], qid
        assert a[qid]["params"] != b[qid]["params"], qid
