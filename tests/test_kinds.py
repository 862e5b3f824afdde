"""Answer kinds as handlers: a new kind is one file and one registry line; models are frozen."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from qbgen.assemble import assemble
from qbgen.spec import load_spec

from .conftest import BANK, ROOT, needs_tex, pdf_text, write_tree

TOY = '''
"""A toy kind for the test: a statement the student marks true or false."""

from __future__ import annotations

from typing import ClassVar, Literal

from .base import AnswerInstance, AnswerSpec, InstanceContext, KindHandler


class Spec(AnswerSpec):
    kind: Literal["truefalse"]
    statement_is: bool


class Instance(AnswerInstance):
    kind: Literal["truefalse"] = "truefalse"
    truth: bool


class TrueFalse(KindHandler[Spec, Instance]):
    name: ClassVar[str] = "truefalse"
    spec_model = Spec
    instance_model = Instance
    skeleton: ClassVar[str] = "prompt: TODO\\n"

    def keys(self, spec):
        return ()

    def instance(self, spec, ctx: InstanceContext):
        return Instance(label=ctx.text("label"), truth=spec.statement_is)

    def latex_exam(self, inst, *, key):
        return "\\\\par Circle one: TRUE\\\\quad FALSE\\\\par\\n"

    def latex_key(self, inst):
        return "\\\\textbf{Toy verdict:} " + ("TRUE" if inst.truth else "FALSE") + "\\\\par\\n"


HANDLER = TrueFalse()
'''


@needs_tex
def test_a_new_kind_is_one_file_and_one_registry_line(tmp_path):
    pkg = tmp_path / "pkg"
    shutil.copytree(ROOT / "qbgen", pkg / "qbgen", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "templates", pkg / "templates")
    (pkg / "qbgen" / "kinds" / "truefalse.py").write_text(TOY.lstrip(), "utf-8")
    registry = pkg / "qbgen" / "kinds" / "__init__.py"
    text = registry.read_text("utf-8")
    assert text.count('    "code",\n') == 1
    registry.write_text(text.replace('    "code",\n', '    "code",\n    "truefalse",\n'), "utf-8")
    bank = write_tree(
        tmp_path / "bank",
        {
            "logic/sky.yaml": """
                id: sky
                title: The sky
                topic: logic
                kind: truefalse
                marks: 1
                prompt: The sky is green.
                answers:
                  - {kind: truefalse, statement_is: false}
                rubric:
                  - {marks: 1, text: FALSE.}
            """,
            "exams/toy.yaml": """
                course: Toys
                max_marks: 1
                sections:
                  - questions: [sky]
            """,
        },
    )
    env = {k: v for k, v in os.environ.items() if k != "QBGEN_BANK"}
    env["PYTHONPATH"] = str(pkg)
    r = subprocess.run(
        [sys.executable, "-m", "qbgen", "build", "toy", "--bank", bank, "--out", tmp_path / "out"],
        cwd=pkg, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    exam = " ".join(pdf_text(tmp_path / "out" / "exam.pdf").split())
    key = " ".join(pdf_text(tmp_path / "out" / "key.pdf").split())
    assert "Circle one: TRUE FALSE" in exam and "Toy verdict" not in exam
    assert "Toy verdict: FALSE" in key
    # The kind is listed where kinds are offered, with no other change.
    r = subprocess.run(
        [sys.executable, "-m", "qbgen", "new", "--help"], cwd=pkg, env=env, capture_output=True, text=True
    )
    assert "truefalse" in r.stdout


@pytest.fixture(scope="module")
def exam(bank):
    return assemble(load_spec(BANK / "exams" / "paper-b.yaml", bank), bank, seed=5)


def test_the_assembled_exam_is_immutable_all_the_way_down(exam):
    q = exam.sections[0].questions[0]
    with pytest.raises(AttributeError):
        exam.sections[0].questions.pop()  # a tuple
    with pytest.raises(TypeError):
        q.answers["x"] = 1  # a read-only mapping
    with pytest.raises(TypeError):
        q.params["x"] = 1
    rows = next(v for x in exam.questions() for v in x.answers.values() if isinstance(v, tuple))
    with pytest.raises(AttributeError):
        rows.append([1])  # nested lists are tuples too
    with pytest.raises(Exception, match="frozen"):
        q.number = "99"
    with pytest.raises(AttributeError):
        q.rubric.append(q.rubric[0])


def test_trusted_latex_and_plain_text_are_distinct_types(exam):
    from pylatex.utils import NoEscape

    from qbgen.models import Candidate, RubricLine

    q = exam.questions()[0]
    assert isinstance(q.prompt, NoEscape) and all(isinstance(r.text, NoEscape) for r in q.rubric)
    assert not isinstance(q.title, NoEscape)  # plain: escaped when printed
    with pytest.raises(ValueError, match="trusted LaTeX"):
        RubricLine(marks=1, text="plain text is never trusted")
    assert not isinstance(Candidate(id="x", name="Tom & Jerry").name, NoEscape)


CHOICE_Q = """
    id: pick
    title: Pick
    topic: t
    kind: choice
    marks: 1
    generator: pick.py
    prompt: Which are even?
    answers:
      - kind: choice
        select: any
        key: evens
        options:
          - text: one
          - text: two
          - text: four
    rubric:
      - {marks: 1, text: Both.}
"""
CHOICE_GEN = """
    from qbgen import authoring
    from qbgen.authoring import Solution, require

    class Params(authoring.Params):
        pass

    def sample(rng):
        return Params()

    def solve(p):
        return Solution(answers={"evens": [1, 2]})

    def check(p, s):
        require(sorted(s.answers["evens"]) == [i for i, n in enumerate([1, 2, 4]) if n % 2 == 0], "evens")
"""


def test_a_choice_takes_its_correct_options_from_solve(tmp_path):
    from .conftest import run_cli

    bank = write_tree(tmp_path / "b", {"t/pick.yaml": CHOICE_Q, "t/pick.py": CHOICE_GEN})
    r = run_cli("show", "pick", "--bank", bank, "--json")
    assert r.returncode == 0, r.stderr
    r = run_cli("validate", "--bank", bank, "--seeds", "5")
    assert r.returncode == 0, r.stdout
    # solve naming an option that does not exist is the question's failure, named.
    gen = bank / "t/pick.py"
    gen.write_text(
        gen.read_text().replace("[1, 2]", "[1, 3]").replace("require(sorted", "0 and require(sorted")
    )
    r = run_cli("show", "pick", "--bank", bank)
    assert r.returncode == 1 and "choice answer 'evens' must be a list of option indexes 0..2" in r.stderr
    # With `key`, an option may not also say `correct`.
    q = bank / "t/pick.yaml"
    q.write_text(q.read_text().replace("- text: two", "- text: two\n        correct: true"))
    r = run_cli("show", "pick", "--bank", bank)
    assert r.returncode == 2 and "pick.yaml:" in r.stderr and "drop `correct`" in r.stderr
    assert "Traceback" not in r.stderr


@pytest.mark.parametrize(
    ("answer", "rubric", "expected"),
    [
        ("{kind: text, text: [not, a, string]}", "{marks: 1, text: ok}", "q.yaml:8: answers[0].text: "),
        ("{kind: text, text: ok}", "{marks: 1, text: [not, this]}", "q.yaml:10: rubric[0].text: "),
    ],
)
def test_error_locations_keep_field_names_that_are_also_kind_names(tmp_path, answer, rubric, expected):
    from .conftest import run_cli

    question = f"""
        id: q
        title: Q
        topic: t
        kind: text
        marks: 1
        prompt: Why?
        answers:
          - {answer}
        rubric:
          - {rubric}
    """
    bank = write_tree(tmp_path / "b", {"t/q.yaml": question})
    r = run_cli("list", "--bank", bank)
    assert r.returncode == 2
    assert expected + "Input should be a valid string" in r.stderr, r.stderr


# ------------------------------------------------------------------ the crib and the LMS, per kind


def test_each_kind_gives_the_crib_its_own_values_of_the_paper():
    from pylatex.utils import NoEscape

    from qbgen.kinds import KINDS
    from qbgen.kinds.choice import ChoiceInstance
    from qbgen.kinds.table import TableInstance

    options = tuple(NoEscape(t) for t in ("a", "b", "c", "d"))
    for correct in ((2,), (0, 3)):  # the printed positions after this paper's shuffle
        inst = ChoiceInstance(options=options, pictures=(False,) * 4, correct=correct, select="any")
        (cell,) = KINDS["choice"].crib_cells(inst)
        assert cell.value == ", ".join(f"({'ABCD'[i]})" for i in correct)
    rows = ((NoEscape("conv"), 72, 0.125), (NoEscape("pool"), 0, NoEscape(r"$7\times 7$")))
    table = TableInstance(key="t", columns=tuple(NoEscape(c) for c in "xyz"), rows=rows, given_columns=1)
    cells = KINDS["table"].crib_cells(table)
    # Every cell the student fills, none that the paper gives, each by its own key.
    assert [c.key for c in cells] == [f"t[{r}][{c}]" for r in range(2) for c in (1, 2)]
    assert [c.accept for c in cells][0::3] == ["exact", ""]  # an integer exact; text for a person
    assert "--" in cells[1].accept and cells[3].value == r"$7\times 7$"
    assert {str(c.place) for c in cells} == {f"x, row {r}: {h}" for r in (1, 2) for h in "yz"}


def test_a_kinds_default_label_asks_nothing_in_an_lms_and_another_label_does():
    from pylatex.utils import NoEscape

    from qbgen.kinds import KINDS
    from qbgen.kinds.code import CodeInstance
    from qbgen.kinds.text import TextInstance

    for kind, make in (
        ("text", lambda label: TextInstance(label=label, text=NoEscape("Because."))),
        ("code", lambda label: CodeInstance(label=label, code="x = 1\n")),
    ):
        default = KINDS[kind].default_label
        assert default, kind
        (form,) = KINDS[kind].lms(make(NoEscape(default)))
        assert form.label == "" and default not in form.model, kind
        (form,) = KINDS[kind].lms(make(NoEscape("Verdict")))
        assert form.label == "Verdict" and "Verdict" not in form.model, kind
