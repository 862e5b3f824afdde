"""Every number a worked step prints is accounted for, and printed one way (validate)."""

import pytest

from qbgen.latex import fmt
from qbgen.numbers import printed_numbers, unaccounted

from .conftest import pdf_text, run_cli
from .test_bad_input import edit, make

# What the step generators draw: x from 3 to 9.
GEN_HEAD = """
    from pydantic import Field
    from qbgen import authoring
    from qbgen.authoring import Solution, agree, fmt

    class Params(authoring.Params):
        x: int = Field(ge=3, le=9)

    def sample(rng):
        return Params(x=int(rng.integers(3, 10)))
"""

GEN_WITH_STEPS = (
    GEN_HEAD
    + """
    def solve(p):
        half = p.x / 2
        return Solution(
            answers={"sq": p.x ** 2},
            steps=[rf"$x/2 = {fmt(half)}$, so $x^2 = (2 \\\\cdot {fmt(half)})^2 = {fmt(p.x ** 2)}$."],
        )

    def check(p, s):
        agree("sq", sum(p.x for _ in range(p.x)), s.answers["sq"])
        return {"half": sum(0.5 for _ in range(p.x))}
"""
)


def _texts(tex):
    return [n.text for n in printed_numbers(tex)]


@pytest.mark.parametrize(
    "tex, numbers",
    [
        (r"$h = \sigma(\ensuremath{0.755}) = \ensuremath{0.6803}$", ["0.755", "0.6803"]),
        (r"$\ensuremath{1.5\times 10^{-3}}$ and \ensuremath{7{,}776}", ["1.5\\times 10^{-3}", "7{,}776"]),
        (r"$\ensuremath{1}$, \ensuremath{2} and \ensuremath{0}", ["1", "2", "0"]),  # fmt's: all read
        (r"$E = \tfrac12(t - y)^2$, $1 - y$, $2x$", []),  # formula constants
        (r"$w_5 + w_{12} + x^{(3)}$ at \hspace{1.5em} in CONV-9-32 and layer3", []),
        (r"Row 3: $128 - 9 + 1 = 120$", ["3", "128", "9", "120"]),
        # A thousands comma typed in a sentence is one number; a pair or a list is not.
        (
            r"train on 10,000 examples, then 1,000.25, (3,4) and 5,6,7",
            ["10,000", "1,000.25", "3", "4", "5", "6", "7"],
        ),
    ],
)
def test_what_counts_as_a_printed_number(tex, numbers):
    assert _texts(tex) == numbers


def test_a_printed_number_stands_for_what_rounds_to_it():
    (num,) = printed_numbers(fmt(0.122049))
    assert num.text == "0.1220" and num.shows(0.122049) and num.shows(0.12204999)
    assert not num.shows(0.12206) and not num.shows(-0.122049)  # fmt prints the sign
    (three,) = printed_numbers(fmt(3))
    assert three.shows(3.0) and not three.shows(2.9) and not three.shows(3.4)  # integers exactly
    assert unaccounted([r"$1/\sqrt{2} = \ensuremath{1.414}$"], [2**-0.5]) == [(1, "1.414")]
    assert unaccounted([r"$1/\sqrt{2} = \ensuremath{0.7071}$"], [2**-0.5]) == []


def test_fmt_keeps_the_zeros_of_a_rounded_value_only():
    assert fmt(0.52497918747894) == r"\ensuremath{0.5250}"  # rounded: the figures say so
    assert fmt(0.35) == r"\ensuremath{0.35}"  # held exactly by 4 figures
    assert fmt(-0.12204) == r"\ensuremath{-0.1220}"
    assert fmt(8.7199999) == r"\ensuremath{8.720}"


def test_steps_whose_numbers_check_vouches_for_pass(tmp_path):
    bank = make(tmp_path, q__good_gen_py=GEN_WITH_STEPS)
    r = run_cli("validate", "--seeds", "20", "--bank", bank)
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.mark.parametrize(
    "old, new, says",
    [
        # The arithmetic of a step is wrong: 4 * (x/2)^2 printed with x/2 off by one.
        ("{fmt(half)})^2", "{fmt(half + 1)})^2", "worked step 1 prints"),
        # A number typed into a step by hand, not derived anywhere.
        ("= (2 ", "= (2.5 ", "worked step 1 prints 2.5"),
        # check no longer vouches for the intermediate the step prints.
        ('return {"half": sum(0.5 for _ in range(p.x))}', "return None", "which is no parameter"),
    ],
)
def test_a_step_with_an_unaccounted_number_fails_validate(tmp_path, old, new, says):
    bank = make(tmp_path, q__good_gen_py=GEN_WITH_STEPS)
    edit(bank / "q" / "good_gen.py", old, new)
    r = run_cli("validate", "--seeds", "20", "--bank", bank)
    assert r.returncode == 1 and says in r.stdout, r.stdout + r.stderr


GEN_TWO_WAYS = (
    """
    import math
"""
    + GEN_HEAD
    + """
    def solve(p):
        root = p.x ** 0.5
        return Solution(answers={"sq": root}, steps=[rf"$\\sqrt{{x}} = {fmt(root, FIGURES)}$."])

    def check(p, s):
        agree("sq", math.exp(0.5 * math.log(p.x)), s.answers["sq"])
"""
)


@pytest.mark.parametrize("figures, fails", [(4, False), (3, True)])
def test_a_step_that_prints_an_answer_another_way_fails(tmp_path, figures, fails):
    bank = make(tmp_path, q__good_gen_py=GEN_TWO_WAYS.replace("FIGURES", str(figures)))
    edit(bank / "q" / "good.yaml", "label: Square}", "label: Square, tolerance: 0.01}")
    r = run_cli("validate", "--seeds", "20", "--bank", bank)
    assert (r.returncode, "prints answer sq as" in r.stdout) == ((1, True) if fails else (0, False)), r.stdout


@pytest.mark.parametrize("figures, fails", [(4, False), (3, True), (5, True)])
def test_a_rounded_number_in_a_step_has_the_keys_figures(tmp_path, figures, fails):
    step = f'$; next, ${{fmt(root + 0.5, {figures})}}$."])'
    gen = GEN_TWO_WAYS.replace("FIGURES", "4").replace('$."])', step)
    gen = gen.replace('s.answers["sq"])', 's.answers["sq"])\n        return {"next": math.sqrt(p.x) + 0.5}')
    assert "next" in gen and "root + 0.5" in gen
    bank = make(tmp_path, q__good_gen_py=gen)
    edit(bank / "q" / "good.yaml", "label: Square}", "label: Square, tolerance: 0.01}")
    r = run_cli("validate", "--seeds", "20", "--bank", bank)
    assert (r.returncode == 1, "significant figures, where the key's rule is 4" in r.stdout) == (fails, fails)


# ------------------------------------------------------------ steps under their part

PARTED_Q = """
    id: good
    title: Good, in parts
    topic: q
    generator: good_gen.py
    prompt: Let $x = \\VAR{p.x}$.
    parts:
      - prompt: Give half of $x$.
        answers: [{kind: numeric, key: half, label: Half}]
        rubric: [{marks: 1, text: Half.}]
      - prompt: Give the square of $x$.
        answers: [{kind: numeric, key: sq, label: Square}]
        rubric: [{marks: 1, text: Square.}]
"""

GEN_PART_STEPS = (
    GEN_HEAD
    + """
    def solve(p):
        half = p.x / 2
        return Solution(
            answers={"half": half, "sq": p.x ** 2},
            part_steps={
                1: [rf"HALFSTEP $x/2 = {fmt(half)}$."],
                2: [rf"SQUARESTEP $x^2 = (2 \\\\cdot {fmt(half)})^2 = {fmt(p.x ** 2)}$."],
            },
        )

    def check(p, s):
        agree("half", sum(0.5 for _ in range(p.x)), s.answers["half"])
        agree("sq", sum(p.x for _ in range(p.x)), s.answers["sq"])
"""
)


def _parted(tmp_path):
    return make(
        tmp_path,
        q__good_yaml=PARTED_Q,
        q__good_gen_py=GEN_PART_STEPS,
        exams__t_yaml="course: T\nmax_marks: 2\nsections:\n  - questions: [good]\n",
    )


def test_part_steps_print_under_their_part_and_are_checked(tmp_path):
    bank = _parted(tmp_path)
    r = run_cli("validate", "--seeds", "20", "--bank", bank)
    assert r.returncode == 0, r.stdout + r.stderr
    r = run_cli("build", "t", "--bank", bank, "--seed", "3", "--out", tmp_path / "out")
    assert r.returncode == 0, r.stderr
    key = pdf_text(tmp_path / "out" / "key.pdf")
    # Part (a)'s answer, then its step, then part (b) with its answer and its own step.
    order = [key.index(s) for s in ("Half:", "HALFSTEP", "Give the square", "Square:", "SQUARESTEP")]
    assert order == sorted(order), key
    assert "HALFSTEP" not in pdf_text(tmp_path / "out" / "exam.pdf")
    # A wrong number in a part's step fails validate like one under the question.
    edit(bank / "q" / "good_gen.py", "{fmt(half)})^2", "{fmt(half + 1)})^2")
    r = run_cli("validate", "--seeds", "20", "--bank", bank)
    assert r.returncode == 1 and "worked step 2 prints" in r.stdout, r.stdout + r.stderr


def test_steps_for_a_part_the_question_lacks_fail(tmp_path):
    bank = _parted(tmp_path)
    edit(bank / "q" / "good_gen.py", "2: [rf", "3: [rf")
    r = run_cli("validate", "--seeds", "5", "--bank", bank)
    assert r.returncode == 1
    assert "solve returns part_steps for part 3, but it has 2 parts (numbered from 1)" in r.stdout
