"""Issue 26, items 7 and 8: small things a new user tripped on, and a start that does not wait.

Through the CLI: `qbgen list`'s header row, `validate --only BANK`, the worked-step message
for a number that equals an answer by chance, the YAML quoting the authoring guide shows,
the overfull lines the typeset log names, and what `qbgen --help` does not import.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap

import yaml

from qbgen.bank import load_bank
from qbgen.kinds import KINDS
from qbgen.typeset import overfull_lines

from .conftest import ROOT, cli, write_tree
from .test_bad_input import GOOD_GEN, GOOD_Q, GOOD_SPEC, one_line_error

# ------------------------------------------------------------------ qbgen list


def test_list_prints_a_header_row_over_its_columns():
    r = cli("list")
    assert r.returncode == 0, r.stderr
    header, *lines = r.stdout.splitlines()
    assert header.split() == ["id", "topic", "kind", "marks", "param", "sources"]
    rows = json.loads(cli("list", "--json").stdout)  # --json stays data only
    assert len(lines) == len(rows) and all("id" not in row or row["id"] != "id" for row in rows)
    # Each heading stands over its column: the text under it is that field.
    at = {name: header.index(name) for name in ("id", "topic", "kind", "param", "sources")}
    for line, row in zip(lines, rows, strict=True):
        assert line[at["id"] :].split()[0] == row["id"]
        assert line[at["topic"] :].split()[0] == row["topic"]
        assert line[at["kind"] :].split()[0] == row["kind"]
        assert line[at["param"] :].split()[0] == ("param" if row["parameterized"] else "-")
        assert line[at["sources"] :].strip() == ", ".join(row["sources"])
    marks_end = header.index("marks") + len("marks")  # marks are right-aligned under theirs
    for line, row in zip(lines, rows, strict=True):
        assert float(line[:marks_end].split()[-1]) == row["marks"]


# ------------------------------------------------------------------ validate --only BANK


def _mine(tmp_path):
    return write_tree(
        tmp_path / "mine", {"q/good.yaml": GOOD_Q, "q/good_gen.py": GOOD_GEN, "exams/t.yaml": GOOD_SPEC}
    )


def _reported(stdout):
    return [m.group(1).strip() for m in re.finditer(r"^(?:ok  |FAIL) (.{28})", stdout, re.M)]


def test_validate_only_one_bank_of_several(tmp_path):
    mine = _mine(tmp_path)
    r = cli("validate", "--bank", mine, "--bank", "builtin", "--only", "mine", "--seeds", "2")
    assert r.returncode == 0, r.stdout + r.stderr
    # Its question and its spec, not the shipped bank's 31 questions and their specs.
    assert _reported(r.stdout) == ["good", "spec t"], r.stdout
    assert r.stdout.rstrip().endswith("2 passed, 0 failed")


def test_validate_only_names_the_banks_it_knows(tmp_path):
    mine = _mine(tmp_path)
    line = one_line_error(cli("validate", "--bank", mine, "--bank", "builtin", "--only", "theirs"), 2)
    assert line == "error: --only: no bank 'theirs' in this run; the banks: mine, builtin"
    r = cli("validate", "--bank", mine, "--bank", "builtin", "--only", "builtin", "-q", "good")
    assert one_line_error(r, 2) == "error: --only: question 'good' is in the bank mine, not builtin"


# ------------------------------------------------------------------ steps: equal by chance

# Two answers that are equal to the figures printed, in every draw: a count n = x + 1
# and a weight w = x + 1.0001 (its answer line prints 4 figures, e.g. 9.000).
CHANCE_Q = """
    id: good
    title: Good
    topic: q
    generator: good_gen.py
    prompt: |
      What is \\VAR{p.x} and one?
    answers:
      - {kind: numeric, key: n, label: Count}
      - {kind: numeric, key: w, label: Weight, tolerance: 0.01}
    rubric:
      - {marks: 2, text: Right.}
"""
CHANCE_GEN = """
    from pydantic import Field
    from qbgen import authoring
    from qbgen.authoring import Solution, agree, fmt

    class Params(authoring.Params):
        x: int = Field(ge=3, le=9)

    def sample(rng):
        return Params(x=int(rng.integers(3, 10)))

    def solve(p):
        w = p.x + 1.0001
        return Solution(answers={"n": p.x + 1, "w": w}, steps=[rf"The weight is $STEP$."])

    def check(p, s):
        agree("n", sum(1 for _ in range(p.x + 1)), s.answers["n"])
        agree("w", p.x + 1 + 1e-4, s.answers["w"])
"""


def _chance_bank(tmp_path, step):
    gen = CHANCE_GEN.replace("STEP", step)
    return write_tree(tmp_path / "b", {"q/good.yaml": CHANCE_Q, "q/good_gen.py": gen})


def test_a_step_printing_one_answer_as_its_line_is_not_another_answer_printed_wrong(tmp_path):
    # The step prints w as w's line does (9.000); that it also reads as n (9) is chance,
    # not n printed another way.
    r = cli("validate", "--bank", _chance_bank(tmp_path, "{fmt(w)}"), "--seeds", "5")
    assert r.returncode == 0, r.stdout
    assert "prints answer n as" not in r.stdout


def test_a_step_number_that_reads_as_two_answers_says_they_are_equal_by_chance(tmp_path):
    # 9.00 is neither answer line's text (9, 9.000): which answer it is, validate cannot
    # know, and says so instead of blaming n alone.
    r = cli("validate", "--bank", _chance_bank(tmp_path, "{fmt(w, 3)}"), "--seeds", "5")
    assert r.returncode == 1, r.stdout
    said = re.search(
        r"worked step 1 prints (\d+)\.00, which reads as answer n \(its answer line: (\d+)\) "
        r"and answer w \(its answer line: (\d+)\.000\), equal here by chance",
        r.stdout,
    )
    assert said is not None and said.group(1) == said.group(2) == said.group(3), r.stdout
    assert "prints answer n as" not in r.stdout


# ------------------------------------------------------------------ the guide's YAML quoting


def _guide_blocks():
    guide = (ROOT / "docs" / "AUTHORING.md").read_text("utf-8")
    section = guide.split("### Quoting LaTeX in YAML flow lists", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```yaml\n(.*?)```", section, re.S)


def test_the_guides_quoted_flow_lists_load_as_the_latex_written(tmp_path):
    flow, block = _guide_blocks()
    options, rubric = flow.splitlines()
    question = f"""
        id: quoted
        title: Quoted
        topic: q
        prompt: Which?
        answers:
          - kind: choice
            {options}
        {rubric}
    """
    bank = write_tree(tmp_path / "b", {"q/quoted.yaml": question})
    r = cli("validate", "--bank", bank, "--seeds", "1")
    assert r.returncode == 0, r.stdout + r.stderr
    q = load_bank(bank).questions["quoted"].question
    assert [o.text for o in q.answers[0].options] == ["$\\frac{1}{2}$", "$f(x, y)$", "the model's loss"]
    assert q.rubric[0].text == "Finds $\\partial L/\\partial w$, then $w, b$."
    # What the guide warns of is so: double quotes eat the backslash, plain text splits.
    assert yaml.safe_load('t: ["$\\frac{1}{2}$"]')["t"] == ["$\x0crac{1}{2}$"]
    assert yaml.safe_load("t: [$f(x, y)$]")["t"] == ["$f(x", "y)$"]
    assert yaml.safe_load(textwrap.dedent(block))["options"][0]["text"] == "$\\frac{1}{2}$"


# ------------------------------------------------------------------ overfull lines


def test_overfull_lines_name_the_question_and_the_points_past_the_margin():
    tex = ["\\begin{document}", "% qbgen: begin q-one", "wide text", "% qbgen: end q-one", "tail"]
    log = (
        "Overfull \\hbox (12.5pt too wide) in paragraph at lines 3--3\n"
        "Overfull \\hbox (0.7pt too wide) in paragraph at lines 3--3\n"  # invisible in print
        "Overfull \\hbox (30.0pt too wide) detected at line 5\n"  # outside any question
    )
    assert overfull_lines(log, tex) == [("q-one", 12.5, 3)]


# ------------------------------------------------------------------ a fast start

# (pydantic itself typer imports, to read options; qbgen's models are what cost.)
HEAVY = ("numpy", "jinja2", "lxml", "pylatex", "yaml", "qbgen.models", "qbgen.kinds", "qbgen.bank")


def _imported_by(*argv: str) -> list[str]:
    # Which heavy modules a real `qbgen ARGS` has loaded when it ends.
    # The program ends as its command does (atexit's handlers run, nothing after them).
    code = (
        "import atexit, runpy, sys\n"
        f"sys.argv = ['qbgen', *{list(argv)!r}]\n"
        f"atexit.register(lambda: print([m for m in {HEAVY!r} if m in sys.modules]))\n"
        "runpy.run_module('qbgen', run_name='__main__')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1].replace("'", '"'))


def test_help_loads_no_model_nor_numpy():
    assert _imported_by("--help") == []
    assert _imported_by("build", "--help") == []
    # `qbgen list` reads the bank (its models), never the writers' libraries.
    assert "lxml" not in _imported_by("list")


def test_new_help_lists_every_kind():
    r = cli("new", "--help")
    assert r.returncode == 0, r.stderr
    assert f"One of: {', '.join(KINDS)}." in " ".join(r.stdout.replace("│", " ").split())


def test_a_preview_has_no_blank_page_between_exam_and_key(tmp_path):
    # A preview is read on screen: the key follows the exam at once (a build's papers
    # still start on odd pages, for duplex printing).
    from .conftest import cli, pdf_text

    r = cli("preview", "paper-b:7", "--out", tmp_path)
    assert r.returncode == 0, r.stderr
    pages = pdf_text(tmp_path / "lstm-vs-rnn-params.pdf").split("\f")[:-1]
    assert len(pages) >= 2 and all(page.strip() for page in pages)
    assert "Compare the number of parameters" in pages[0]


def test_build_names_a_line_set_past_the_margin(tmp_path):
    # A build used to hide TeX's overfull lines in its log: now one note per question.
    long = r"\texttt{" + "x" * 120 + "}"
    question = (
        "id: too-wide\ntitle: A long line\ntopic: t\n"
        f"prompt: 'What does {long} mean?'\n"
        "answers:\n  - {kind: text, text: Nothing.}\nrubric:\n  - {marks: 1, text: It.}\n"
    )
    spec = "course: DL\nmax_marks: 1\nsections:\n  - questions: [too-wide]\n"
    bank = write_tree(tmp_path / "b", {"q/too-wide.yaml": question, "exams/s.yaml": spec})
    r = cli("build", bank / "exams" / "s.yaml", "--bank", bank, "--out", tmp_path / "o")
    assert r.returncode == 0, r.stderr
    notes = [line for line in r.stderr.splitlines() if "past the margin" in line]
    assert len(notes) == 1 and notes[0].startswith("note: too-wide: ")
    assert float(re.search(r"set ([\d.]+) pt", notes[0]).group(1)) > 100  # 120 typewriter letters
    r = cli("build", ROOT / "bank" / "exams" / "paper-b.yaml", "--out", tmp_path / "fine")
    assert r.returncode == 0 and "past the margin" not in r.stderr
