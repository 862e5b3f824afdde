from hypothesis import given
from hypothesis import strategies as st

from qbgen.seeds import derive_seed

ids = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=20)


@given(st.integers(0, 2**32), st.text(max_size=8), ids)
def test_same_inputs_same_seed(seed, variant, qid):
    assert derive_seed(seed, variant, qid) == derive_seed(seed, variant, qid)


@given(st.integers(0, 2**32), ids, ids)
def test_seed_depends_on_question_not_on_others(seed, a, b):
    # A question's seed is a function of (exam seed, variant, its id) only.
    first = derive_seed(seed, "", a)
    _ = derive_seed(seed, "", b)
    assert derive_seed(seed, "", a) == first


def test_seeds_differ_across_questions_variants_and_exam_seeds():
    base = derive_seed(1, "", "q")
    assert derive_seed(1, "", "r") != base
    assert derive_seed(1, "A", "q") != base
    assert derive_seed(2, "", "q") != base
