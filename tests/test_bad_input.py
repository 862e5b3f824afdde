"""Bad input: every case exits 2 (bad input) or 1 (a failing question) with one line
naming the file, the line and the field or question, and never a traceback."""

import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from qbgen.assemble import instantiate
from qbgen.bank import load_bank

from .conftest import ROOT, needs_tex, pdf_text, run_cli, write_tree

GOOD_Q = """
    id: good
    title: Good
    topic: q
    kind: numeric
    marks: 2
    generator: good_gen.py
    prompt: |
      What is \\VAR{p.x} squared?
    answers:
      - {kind: numeric, key: sq, label: Square}
    rubric:
      - {marks: 2, text: Right square.}
"""
GOOD_GEN = """
    import math
    from pydantic import Field
    from qbgen import authoring
    from qbgen.authoring import Solution, agree

    class Params(authoring.Params):
        x: int = Field(ge=1, le=9)

    def sample(rng):
        return Params(x=int(rng.integers(1, 10)))

    def solve(p):
        return Solution(answers={"sq": p.x ** 2})

    def check(p, s):
        agree("sq", sum(p.x for _ in range(p.x)), s.answers["sq"])
"""
GOOD_SPEC = """
    course: Test
    max_marks: 2
    sections:
      - questions: [good]
"""


def make(tmp_path, **overrides):
    files = {"q/good.yaml": GOOD_Q, "q/good_gen.py": GOOD_GEN, "exams/t.yaml": GOOD_SPEC}
    files.update(
        {
            k.replace("__", "/").replace("_yaml", ".yaml").replace("_py", ".py"): v
            for k, v in overrides.items()
        }
    )
    return write_tree(tmp_path / "bank", files)


def one_line_error(r, code):
    assert r.returncode == code, (r.returncode, r.stdout, r.stderr)
    assert "Traceback" not in r.stderr + r.stdout
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


def build_t(bank, *args, **kwargs):
    """`qbgen build` of the test bank's spec (exams/t.yaml) with `--bank`, then `args`."""
    return run_cli("build", bank / "exams" / "t.yaml", "--bank", bank, *args, **kwargs)


def edit(path, old, new):
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


# ---------------------------------------------------------------- question files (exit 2)


# Ten levels of nine aliases each: 9^10 values once expanded, 80 lines of text.
LAUGHS = "l0: &l0 [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]\n" for i in range(1, 10)
)


@pytest.mark.parametrize(
    "old, new, expect",
    [
        ("title: Good", "title: [unclosed", ("good.yaml:3:", "YAML syntax", "on line 2")),
        ("topic: q", "topic: q\ncolour: red", ("good.yaml:4:", "colour: unknown field")),
        ("marks: 2\n", "marks: two\n", ("good.yaml:5:", "marks: Input should be a valid number")),
        ("marks: 2\n", "marks: 0\n", ("good.yaml:5:", "marks: Input should be greater than 0")),
        ("marks: 2\n", "marks: -1\n", ("good.yaml:5:", "marks: Input should be greater than 0")),
        ("marks: 2\n", "marks: .inf\n", ("good.yaml:5:", "marks: Input should be a finite number")),
        ("marks: 2\n", "marks: 3\n", ("good.yaml:11:", "rubric: marking scheme adds up to 2")),
        ("kind: numeric", "kind: essay", ("good.yaml:4:", "kind: Input should be")),
        (
            "{kind: numeric, key: sq",
            "{kind: numeric, keey: sq",
            ("good.yaml:10:", "answers[0].keey: unknown field (did you mean 'key'?)"),
        ),
        ("topic: q", "topic: q\ntopic: r", ("good.yaml:4:", "duplicate key 'topic'")),
        # Hostile or odd YAML: one line each, at once (a billion laughs used to hang).
        ("topic: q", "topic: q\n" + LAUGHS, ("good.yaml:", "aliases expand to more than 100,000 values")),
        ("topic: q", "topic: q\nx: " + "[" * 100 + "]" * 100, ("good.yaml:4:", "nested more than 64 levels")),
        ("topic: q", "topic: q\n? [a, b]\n: 1", ("good.yaml:4:", "a key must be a plain name, not a list")),
        ("topic: q", "topic:\n\tq", ("good.yaml:4:", "YAML syntax", "a tab: YAML indents with spaces")),
        ("\\VAR{p.x} squared", "\\VAR{p.x squared", ("good.yaml:8:", "prompt: template syntax")),
        (
            "What is \\VAR{p.x} squared?",
            "What is 50% of \\VAR{p.x} squared?",
            ("good.yaml:8:", "prompt: a bare % starts a LaTeX comment", "write \\%"),
        ),
        (
            "{marks: 2, text: Right square.}",
            "{marks: 2, text: 'Right square, 100% of it.'}",
            ("good.yaml:12:", "rubric.0.text: a bare %"),
        ),
    ],
)
def test_bad_question_file(tmp_path, old, new, expect):
    bank = make(tmp_path)
    edit(bank / "q" / "good.yaml", old, new)
    line = one_line_error(run_cli("list", "--bank", bank), 2)
    for part in expect:
        assert part in line, line


def test_a_byte_that_is_not_utf8_is_named_with_its_line(tmp_path):
    bank = make(tmp_path)
    path = bank / "q" / "good.yaml"
    path.write_bytes(path.read_bytes().replace(b"title: Good", b"title: Gr\xfcn"))
    line = one_line_error(run_cli("list", "--bank", bank), 2)
    assert "good.yaml:2: not UTF-8 text (byte 0xfc at column 10)" in line, line


VIEWS_Q = """
    id: views
    title: V
    topic: q
    kind: numeric
    marks: 2
    generator: good_gen.py
    original: {x: 3}
    key_note: '\\BLOCK{if not original}This paper adds the value.\\BLOCK{endif}'
    prompt: |
      Define a square.\\BLOCK{if not original} What is \\VAR{p.x} squared?\\BLOCK{endif}
    answers:
      - {kind: text, text: A number times itself.}
      - {kind: numeric, key: sq, label: Square, only: new}
    rubric:
      - {marks: 2, text: The definition., only: original}
      - {marks: 1, text: The definition., only: new}
      - {marks: 1, text: The value., only: new}
"""


def test_the_paper_as_set_and_a_new_paper_print_their_own_lines(tmp_path):
    bq = load_bank(make(tmp_path, q__views_yaml=VIEWS_Q)).get("views")
    as_set, new = instantiate(bq, "1", None), instantiate(bq, "1", 5)
    assert "squared" not in as_set.prompt and "squared" in new.prompt
    assert [r.marks for r in as_set.rubric] == [2] and [r.marks for r in new.rubric] == [1, 1]
    assert [a.kind for a in as_set.own_answers] == ["text"]
    assert [a.kind for a in new.own_answers] == ["text", "numeric"]
    assert as_set.key_note == "" and "adds" in new.key_note
    # The interval a grader accepts is data for the answers the paper prints, and only those.
    r = run_cli("show", "views", "--original", "--json", "--bank", tmp_path / "bank")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["accept"] == {}


@pytest.mark.parametrize(
    "old, new, expect",
    [
        (
            "- {marks: 2, text: The definition., only: original}",
            "- {marks: 1, text: The definition., only: original}",
            "rubric: the paper as set's marking scheme adds up to 1, the question is worth 2",
        ),
        (
            "- {marks: 1, text: The value., only: new}",
            "- {marks: 0.5, text: The value., only: new}",
            "rubric: a new paper's marking scheme adds up to 1.5, the question is worth 2",
        ),
        ("- {kind: text, text: A number times itself.}", "", "answers: the paper as set prints none"),
        ("label: Square, only: new}", "label: Square, only: old}", "answers[1].only: Input should be"),
    ],
)
def test_a_view_that_does_not_add_up_is_one_line(tmp_path, old, new, expect):
    bank = make(tmp_path, q__views_yaml=VIEWS_Q)
    edit(bank / "q" / "views.yaml", old, new)
    line = one_line_error(run_cli("list", "--bank", bank), 2)
    assert "views.yaml:" in line and expect in line, line


def test_an_escaped_percent_and_jinja_arithmetic_are_fine(tmp_path):
    bank = make(tmp_path)
    edit(
        bank / "q" / "good.yaml", "What is \\VAR{p.x} squared?", "Is \\VAR{p.x % 2} odd? 50\\% of \\VAR{p.x}?"
    )
    r = run_cli("list", "--bank", bank)
    assert r.returncode == 0, r.stderr


def test_parts_not_adding_up(tmp_path):
    bank = make(
        tmp_path,
        q__parts_yaml="""
        id: parted
        title: P
        topic: q
        kind: text
        marks: 3
        prompt: Stem.
        parts:
          - marks: 1
            prompt: One.
            answers: [{kind: text, text: A}]
            rubric: [{marks: 1, text: A}]
          - marks: 1
            prompt: Two.
            answers: [{kind: text, text: B}]
            rubric: [{marks: 1, text: B}]
    """,
    )
    line = one_line_error(run_cli("list", "--bank", bank), 2)
    assert "parts.yaml:7: parts: parts add up to 2 marks, the question is worth 3" in line


def test_undefined_variable_in_text_is_an_error_not_empty(tmp_path):
    bank = make(tmp_path)
    edit(bank / "q" / "good.yaml", "\\VAR{p.x} squared", "\\VAR{p.y} squared")
    line = one_line_error(run_cli("show", "good", "--bank", bank, "--seed", "1"), 2)
    assert "good.yaml:7: prompt: undefined in template" in line and "'y'" in line


def test_answer_in_exam_text_is_refused(tmp_path):
    bank = make(tmp_path)
    edit(bank / "q" / "good.yaml", "\\VAR{p.x} squared", "\\VAR{a.sq} squared")
    line = one_line_error(run_cli("show", "good", "--bank", bank, "--seed", "1"), 2)
    assert "prompt: undefined in template" in line and "may not appear in the exam" in line


def test_same_id_in_two_files(tmp_path):
    bank = make(tmp_path)
    (bank / "r").mkdir()
    shutil.copy(bank / "q" / "good.yaml", bank / "r" / "good.yaml")
    shutil.copy(bank / "q" / "good_gen.py", bank / "r" / "good_gen.py")
    line = one_line_error(run_cli("list", "--bank", bank), 2)
    assert "good.yaml:1: id: question id 'good' is also used by" in line and str(bank / "q") in line


def test_an_id_that_is_not_the_file_name_is_one_line(tmp_path):
    bank = make(tmp_path)
    shutil.copy(bank / "q" / "good.yaml", bank / "q" / "twin.yaml")
    line = one_line_error(run_cli("list", "--bank", bank), 2)
    assert "twin.yaml:1: id: the id 'good' differs from the file's name 'twin'; rename one to match" in line


def test_missing_generator_file(tmp_path):
    bank = make(tmp_path)
    (bank / "q" / "good_gen.py").unlink()
    line = one_line_error(run_cli("list", "--bank", bank), 2)
    assert "good_gen.py: generator file not found" in line


def test_generator_missing_a_function(tmp_path):
    bank = make(tmp_path)
    edit(bank / "q" / "good_gen.py", "def check(p, s):", "def verify(p, s):")
    line = one_line_error(run_cli("list", "--bank", bank), 2)
    assert "good_gen.py: generator does not define check" in line


def test_generator_import_error_names_its_line(tmp_path):
    bank = make(tmp_path)
    edit(bank / "q" / "good_gen.py", "import math", "import math\nraise RuntimeError('boom')")
    line = one_line_error(run_cli("list", "--bank", bank), 2)
    assert "good_gen.py:2: generator failed to import: RuntimeError: boom" in line


def test_generator_syntax_error_names_its_line(tmp_path):
    bank = make(tmp_path)
    edit(bank / "q" / "good_gen.py", "import math", "import math\ndef oops(:")
    line = one_line_error(run_cli("list", "--bank", bank), 2)
    assert "good_gen.py:2: generator failed to import: SyntaxError: invalid syntax" in line


def test_original_rejected_by_params(tmp_path):
    bank = make(tmp_path)
    edit(bank / "q" / "good.yaml", "generator: good_gen.py", "generator: good_gen.py\noriginal: {x: 99}")
    line = one_line_error(run_cli("list", "--bank", bank), 2)
    assert "good.yaml:7: original.x: Input should be less than or equal to 9" in line


# ---------------------------------------------------------------- generators failing (exit 1)


@pytest.mark.parametrize(
    "old, new, expect",
    [
        (
            'return Solution(answers={"sq": p.x ** 2})',
            "return Solution(answers={'sq': 1 / 0})",
            "good (seed 1): solve raised ZeroDivisionError",
        ),
        (
            'return Solution(answers={"sq": p.x ** 2})',
            "return Solution(answers={'sq': math.nan})",
            "answer 'sq' is not finite (nan)",
        ),
        (
            'return Solution(answers={"sq": p.x ** 2})',
            "return Solution(answers={'sq': math.inf})",
            "answer 'sq' is not finite (inf)",
        ),
        (
            "return Params(x=int(rng.integers(1, 10)))",
            "return Params.model_construct(x=42)",
            "sample drew params its own Params model rejects: x",
        ),
        (
            'return Solution(answers={"sq": p.x ** 2})',
            'return Solution(answers={"sq": p.x ** 2 + 1})',
            "good (seed 1): check failed: sq: check derived",
        ),
        (
            'return Solution(answers={"sq": p.x ** 2})',
            'return {"sq": p.x ** 2}',
            "solve must return qbgen.authoring.Solution",
        ),
        (  # sys.exit(0) used to end validate with exit 0, no report and no JUnit: CI green
            'return Solution(answers={"sq": p.x ** 2})',
            "import sys; sys.exit(0)",
            "good (seed 1): solve called sys.exit(0); a generator returns or raises",
        ),
    ],
)
def test_failing_generator(tmp_path, old, new, expect):
    bank = make(tmp_path)
    edit(bank / "q" / "good_gen.py", old, new)
    line = one_line_error(run_cli("show", "good", "--bank", bank, "--seed", "1"), 1)
    assert "good_gen.py" in line and expect in line, line
    v = run_cli("validate", "--bank", bank, "--seeds", "5", "--junit", tmp_path / "j.xml")
    assert v.returncode == 1 and "FAIL good" in v.stdout and "Traceback" not in v.stdout + v.stderr
    assert 'failures="1"' in (tmp_path / "j.xml").read_text()


def test_an_endless_generator_is_stopped_with_one_line(tmp_path):
    bank = make(tmp_path)
    edit(
        bank / "q" / "good_gen.py",
        "    return Solution(",
        "    while True:\n        pass\n    return Solution(",
    )
    env = {"QBGEN_GENERATOR_TIMEOUT": "1"}
    started = time.monotonic()
    line = one_line_error(run_cli("show", "good", "--bank", bank, "--seed", "1", env=env), 1)
    assert "good (seed 1): solve did not finish within 1 s (an endless loop?" in line, line
    assert "good_gen.py:" in line and time.monotonic() - started < 30
    v = run_cli("validate", "--bank", bank, "--seeds", "3", "--junit", tmp_path / "j.xml", env=env)
    assert (
        v.returncode == 1 and "FAIL good" in v.stdout and 'failures="1"' in (tmp_path / "j.xml").read_text()
    )
    r = run_cli("list", "--bank", bank, env={"QBGEN_GENERATOR_TIMEOUT": "soon"})
    assert "QBGEN_GENERATOR_TIMEOUT: must be a positive number of seconds" in one_line_error(r, 2)


def test_validate_finds_draws_that_do_not_reproduce_from_their_seed(tmp_path):
    # A generator keeping state of its own (as numpy's global random state is): every
    # call draws the next value, so a rebuilt paper would differ from the first.
    bank = make(tmp_path)
    edit(
        bank / "q" / "good_gen.py",
        "    return Params(x=int(rng.integers(1, 10)))",
        "    CALLS.append(1)\n    return Params(x=1 + len(CALLS) % 9)\n\n\nCALLS = []",
    )
    v = run_cli("validate", "--bank", bank, "--seeds", "3")
    assert v.returncode == 1 and "FAIL good" in v.stdout, v.stdout
    assert "drawn twice, it gave different params or answers" in v.stdout + v.stderr


def test_a_generator_that_prints_keeps_json_output_clean(tmp_path):
    bank = make(tmp_path)
    edit(
        bank / "q" / "good_gen.py",
        "    return Solution(",
        '    print("debugging", p.x)\n    return Solution(',
    )
    r = run_cli("show", "good", "--bank", bank, "--seed", "1", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["id"] == "good" and "debugging" in r.stderr


@pytest.mark.parametrize(
    "args, expect",
    [
        (["validate", "--seeds", "-1"], "Invalid value for '--seeds'"),
        (["show", "momentum-backprop", "--seed", "-1"], "Invalid value for '--seed'"),
        (["build", "bank/exams/quiz.yaml", "--seed", "-1"], "Invalid value for '--seed'"),
        (["preview", "momentum-backprop", "--seed", "-1"], "Invalid value for '--seed'"),
        (["export", "bank/exams/quiz.yaml", "--seed", "-1"], "Invalid value for '--seed'"),
        (["build", "--variants", "x"], "Invalid value for '--variants'"),
        (["show"], "Missing argument 'question'"),
        (["biuld"], "No such command 'biuld'"),
    ],
)
def test_a_wrong_option_is_one_line_too(args, expect):
    line = one_line_error(run_cli(*args), 2)
    assert expect in line and "--help" in line, line


def test_schema_and_new_into_a_path_under_a_file_are_one_line(tmp_path):
    (tmp_path / "afile").write_text("mine\n")
    r = run_cli("schema", "--out", tmp_path / "afile" / "s")
    assert "cannot write the schemas: a file stands where a folder would be" in one_line_error(r, 2)
    r = run_cli("new", "conv-out", "--kind", "numeric", "--bank", tmp_path / "afile")
    assert "cannot write the bank folder: a file stands where a folder would be" in one_line_error(r, 2)
    assert (tmp_path / "afile").read_text() == "mine\n"


def test_new_with_an_id_that_starts_with_a_digit_writes_a_skeleton_that_validates(tmp_path):
    r = run_cli("new", "2d-conv-output", "--kind", "numeric", "--bank", tmp_path / "b")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "b" / "general" / "gen_2d_conv_output.py").is_file()
    r = run_cli("validate", "-q", "2d-conv-output", "--seeds", "3", "--bank", tmp_path / "b")
    assert r.returncode == 0 and "1 passed, 0 failed" in r.stdout, r.stdout + r.stderr


def test_a_junit_path_that_cannot_be_written_is_one_line(tmp_path):
    (tmp_path / "afile").write_text("mine\n")
    r = run_cli("validate", "-q", "softmax-temperature", "--seeds", "2", "--junit", tmp_path)
    assert f"--junit: {tmp_path} is a folder; give a file" in one_line_error(r, 2)
    r = run_cli(
        "validate", "-q", "softmax-temperature", "--seeds", "2", "--junit", tmp_path / "afile" / "j.xml"
    )
    assert "--junit: cannot write the JUnit report: a file stands where a folder would be" in one_line_error(
        r, 2
    )
    assert (tmp_path / "afile").read_text() == "mine\n" and not list(tmp_path.glob(".*tmp"))


def test_debug_shows_the_traceback(tmp_path):
    bank = make(tmp_path)
    edit(bank / "q" / "good.yaml", "topic: q", "topic: q\ncolour: red")
    r = run_cli("list", "--bank", bank, "--debug")
    assert r.returncode != 0 and "Traceback" in r.stderr


# ---------------------------------------------------------------- specs (exit 2)


@pytest.mark.parametrize(
    "old, new, expect",
    [
        ("[good]", "[good, nothere]", "t.yaml:4: sections[0].questions[1]: no question 'nothere'"),
        ("max_marks: 2", "max_marks: 5", "t.yaml:2: max_marks: the questions add up to 2 marks, not 5"),
        ("[good]", "[good, good]", "sections[0].questions[1]: question 'good' is picked twice"),
        ("course: Test", "course: Test\nseeed: 3", "t.yaml:2: seeed: unknown field"),
        ("[good]", "[{pool: {topic: q, count: 2}}]", "pool: cannot pick 2 question(s): 1 match the rule"),
        ("course: Test", "course: Test\nstyle: c", "t.yaml:2: style: no house style 'c' (have: iitjammu-a"),
    ],
)
def test_bad_spec(tmp_path, old, new, expect):
    bank = make(tmp_path)
    edit(bank / "exams" / "t.yaml", old, new)
    line = one_line_error(build_t(bank, "--out", tmp_path / "o"), 2)
    assert expect in line, line
    assert not (tmp_path / "o" / "exam.pdf").exists()


def test_spec_not_found(tmp_path):
    line = one_line_error(run_cli("build", tmp_path / "none.yaml", "--out", tmp_path / "o"), 2)
    assert "none.yaml: exam spec not found; this bank's specs: paper-a, paper-b, quiz" in line


def test_unknown_question_in_show():
    line = one_line_error(run_cli("show", "paper-z:99"), 2)
    assert "no question 'paper-z:99'" in line


# ---------------------------------------------------------------- typesetting and the machine


@needs_tex
def test_latex_error_names_the_question_and_keeps_tex(tmp_path):
    bank = make(tmp_path)
    edit(bank / "q" / "good.yaml", "squared?", "squared? \\undefinedmacro")
    out = tmp_path / "o"
    line = one_line_error(build_t(bank, "--out", out), 1)
    assert "question good: LaTeX error: Undefined control sequence" in line
    assert "failed/exam.tex:" in line
    assert (out / "failed" / "exam.tex").exists() and not (out / "exam.pdf").exists()


@needs_tex
def test_a_latex_message_is_whole_not_cut_where_the_log_wraps(tmp_path):
    # TeX folds its log at 79 columns; qbgen asks for it unfolded, so a long file name
    # and the end of its message survive.
    name = "figures-of-the-second-paper-that-nobody-copied-into-the-bank-folder-at-all.tex"
    bank = make(tmp_path)
    edit(bank / "q" / "good.yaml", "squared?", f"squared? \\input{{{name}}}")
    r = build_t(bank, "--out", tmp_path / "o")
    line = one_line_error(r, 1)
    assert f"question good: LaTeX error: LaTeX Error: File `{name}' not found." in line, line


@needs_tex
@pytest.mark.parametrize("variable", ["TEXINPUTS", "TEXMFHOME"])
def test_tex_reads_no_user_tree(tmp_path, variable):
    # A file that only TEXINPUTS or a TEXMFHOME tree holds: bare pdflatex finds it,
    # qbgen's build does not.
    tree = tmp_path / "mine"
    where = tree if variable == "TEXINPUTS" else tree / "tex" / "latex"
    where.mkdir(parents=True)
    (where / "qbprobe.tex").write_text("\\def\\probe{FROM THE USER TREE}\n")
    value = f"{tree}:" if variable == "TEXINPUTS" else str(tree)
    probe = tmp_path / "probe.tex"
    probe.write_text("\\documentclass{article}\\begin{document}\\input{qbprobe}\\probe\\end{document}\n")
    bare = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", probe.name],
        cwd=tmp_path, env={**os.environ, variable: value}, capture_output=True, check=False,
    )  # fmt: skip
    assert bare.returncode == 0, "bare pdflatex should find the file: the test proves nothing"
    bank = make(tmp_path)
    edit(bank / "q" / "good.yaml", "squared?", "squared? \\input{qbprobe}")
    r = build_t(bank, "--out", tmp_path / "o", env={variable: value})
    assert "LaTeX Error: File `qbprobe.tex' not found." in one_line_error(r, 1)


@needs_tex
def test_unwritable_output_folder(tmp_path):
    bank = make(tmp_path)
    if os.geteuid() == 0:
        # Root writes through file modes; sysfs refuses a new folder even to root (EPERM).
        out = Path("/sys/qbgen-test-output")
        if not Path("/sys").is_dir() or _can_mkdir(out):
            pytest.skip("running as root with a writable /sys")
    else:
        out = tmp_path / "ro"
        out.mkdir()
        out.chmod(stat.S_IRUSR | stat.S_IXUSR)
    line = one_line_error(build_t(bank, "--out", out), 2)
    assert "cannot write the output folder" in line


def _can_mkdir(path):
    try:
        path.mkdir()
    except OSError:
        return False
    path.rmdir()
    return True


def test_output_path_is_a_file(tmp_path):
    bank = make(tmp_path)
    (tmp_path / "o").write_text("not a folder")
    line = one_line_error(build_t(bank, "--out", tmp_path / "o"), 2)
    assert "cannot write the output folder" in line


def test_pdflatex_missing_says_how_to_install(tmp_path):
    bank = make(tmp_path)
    env = {"PATH": str(tmp_path / "empty"), "QBGEN_PDFLATEX": ""}
    (tmp_path / "empty").mkdir()
    r = build_t(bank, "--out", tmp_path / "o", env=env)
    line = one_line_error(r, 2)
    assert "pdflatex not found" in line and "apt-get install" in line


@pytest.mark.parametrize("program", ["/nonexistent/pdflatex", "NOTES.txt", "no-such-pdflatex"])
def test_a_pdflatex_setting_that_names_no_program_is_one_line(tmp_path, program):
    bank = make(tmp_path)
    (tmp_path / "NOTES.txt").write_text("not a program\n")  # a file, not executable
    path = str(tmp_path / "NOTES.txt") if program == "NOTES.txt" else program
    r = build_t(
        bank,
        "--out",
        tmp_path / "o",
        env={"QBGEN_PDFLATEX": path},
    )
    assert f"QBGEN_PDFLATEX: {path} is not a program this user can run" in one_line_error(r, 2)


# ---------------------------------------------------------------- rosters (exit 2)


@pytest.mark.parametrize(
    "content, expect",
    [
        (b"id,fullname\n1,Asha\n", "class.csv:1: missing column name (columns: id, fullname)"),
        (b"id,name\n7,Asha\n8,Ravi\n7,Meera\n", "class.csv:4: id: duplicate id '7' (first on line 2)"),
        (b"id,name\n7,Asha\n8,  \n", "class.csv:3: name: empty name for id '8'"),
        (b"id,name\n7,Asha\n8,Jos\xe9\n", "class.csv:3: not UTF-8 text (byte 0xe9 at column 6)"),
        (b"id,name\n", "class.csv: the roster has no students"),
        (
            b"id,name\n2021/CS/01,Asha\n2021_CS_01,Bina\n",
            "class.csv:3: id: id '2021_CS_01' and '2021/CS/01' (line 2) would share the output folder",
        ),
        (b"roll;name\n7;Asha\n", "class.csv:1: missing column id (columns: roll, name)"),
        # Read strictly: none of these may quietly lose a student.
        (
            b'id,name\n7,Asha\n8,"Ravi\n9,Meera\n10,Bina\n',
            "class.csv:3: a quote opened in this row is never closed",
        ),
        (b'id,name\n7,"Asha" Rao\n', "class.csv:2: text after a field's closing quote"),
        (
            b'id,name\n7,"Asha\nRao"\n8,Ravi\n',
            "class.csv:2: name: a roster field may not run over lines (its quote opens on line 2 and "
            "closes on line 3)",
        ),
        (b"id,name,Name\n7,Asha,A\n", "class.csv:1: column name given twice"),
        (b"id,name\n7,Asha\nexams.pdf,Ravi\n", "class.csv:3: id: id 'exams.pdf' would name the student's"),
        (b"id,name\nFailed,Ravi\n", "class.csv:2: id: id 'Failed' would name the student's folder"),
        (b"id,name\n7," + b"a" * 201 + b"\n", "class.csv:2: name: 201 characters, more than the 200"),
        (b"id,name\n" + b"7" * 65 + b",Asha\n", "class.csv:2: id: 65 characters, more than the 64"),
        (b"id,name\n7,As\x00ha\n", "class.csv:2: name: control character U+0000 in the name"),
    ],
)
def test_bad_roster(tmp_path, content, expect):
    bank = make(tmp_path)
    (tmp_path / "class.csv").write_bytes(content)
    r = build_t(
        bank,
        "--roster",
        tmp_path / "class.csv",
        "--out",
        tmp_path / "o",
    )
    line = one_line_error(r, 2)
    assert expect in line, line


# ---------------------------------------------------------------- LaTeX safety

SECRET = "qbgen-secret-7f3a"


@needs_tex
@pytest.mark.parametrize(
    "attack",
    [
        "\\input{/etc/passwd}",
        "\\input{SECRET_ABS}",
        "\\input{../../secret.txt}",
        "\\newread\\r \\openin\\r=SECRET_ABS \\read\\r to\\x \\x",
        "\\newwrite\\w \\immediate\\openout\\w=OUTSIDE \\immediate\\write\\w{pwned}",
        "\\immediate\\write18{touch OUTSIDE}",
    ],
)
def test_tex_cannot_read_or_write_outside_the_build(tmp_path, attack):
    (tmp_path / "secret.txt").write_text(SECRET + "\n")
    outside = tmp_path / "pwned.txt"
    bank = make(tmp_path)
    attack = attack.replace("SECRET_ABS", str(tmp_path / "secret.txt")).replace("OUTSIDE", str(outside))
    edit(bank / "q" / "good.yaml", "squared?", "squared? " + attack)
    out = tmp_path / "o"
    r = build_t(bank, "--out", out)
    assert "Traceback" not in r.stderr
    for pdf in out.rglob("*.pdf"):
        text = pdf_text(pdf)
        assert SECRET not in text and "root:x:0:0" not in text
    assert not outside.exists()
    assert not list(out.rglob("pwned*"))


@needs_tex
def test_endless_loop_is_stopped_with_a_clear_error(tmp_path):
    bank = make(tmp_path)
    edit(bank / "q" / "good.yaml", "squared?", "squared? \\def\\spin{\\spin}\\spin")
    r = build_t(
        bank,
        "--out",
        tmp_path / "o",
        env={"QBGEN_TEX_TIMEOUT": "3"},
    )
    line = one_line_error(r, 1)
    assert "did not finish within 3 s" in line


@needs_tex
def test_validate_compile_names_the_one_question_that_timed_out(tmp_path):
    bank = make(tmp_path)
    other = GOOD_Q.replace("id: good", "id: other")
    write_tree(bank, {"q/other.yaml": other})
    edit(bank / "q" / "good.yaml", "squared?", "squared? \\def\\spin{\\spin}\\spin")
    r = run_cli("validate", "--bank", bank, "--seeds", "2", "--compile", env={"QBGEN_TEX_TIMEOUT": "3"})
    assert r.returncode == 1, r.stdout + r.stderr
    assert "FAIL good" in r.stdout and "ok   other" in r.stdout, r.stdout
    assert "good: does not typeset: pdflatex did not finish within 3 s" in r.stdout + r.stderr


@needs_tex
def test_validate_compile_places_a_latex_error_in_the_question_file(tmp_path):
    # Only a new paper shows the bad macro: the paper as set typesets, seed 0 does not.
    bank = make(tmp_path)
    edit(
        bank / "q" / "good.yaml",
        "  What is \\VAR{p.x} squared?\n",
        "  What is \\VAR{p.x} squared?\n"
        "  \\BLOCK{if not original}Mind the \\nosuchmacro sign.\\BLOCK{endif}\n",
    )
    edit(bank / "q" / "good.yaml", "generator: good_gen.py\n", "generator: good_gen.py\noriginal: {x: 2}\n")
    text = (bank / "q" / "good.yaml").read_text()
    line = text.splitlines().index("  \\BLOCK{if not original}Mind the \\nosuchmacro sign.\\BLOCK{endif}") + 1
    r = run_cli("validate", "--bank", bank, "--seeds", "2", "--compile")
    assert r.returncode == 1, r.stdout + r.stderr
    want = f"good (seed 0): does not typeset: {bank / 'q' / 'good.yaml'}:{line}: prompt: LaTeX error:"
    assert want in r.stdout and "Undefined control sequence" in r.stdout, r.stdout
    assert ".tex" not in r.stdout  # not a line of the generated document
    # In a marking scheme's line: that line and field.
    edit(bank / "q" / "good.yaml", "\\BLOCK{if not original}Mind the \\nosuchmacro sign.\\BLOCK{endif}", "")
    edit(bank / "q" / "good.yaml", "text: Right square.}", "text: Right \\badmacro square.}")
    text = (bank / "q" / "good.yaml").read_text()
    line = next(i for i, t in enumerate(text.splitlines(), 1) if "badmacro" in t)
    r = run_cli("validate", "--bank", bank, "--seeds", "2", "--compile")
    assert r.returncode == 1, r.stdout + r.stderr
    assert (
        f"good (original values): does not typeset: {bank / 'q' / 'good.yaml'}:{line}: rubric.0.text:"
        in r.stdout
    )


@needs_tex
def test_validate_compile_warns_of_a_line_into_the_margin_naming_the_draw(tmp_path):
    # Only new papers print the over-wide box: each new draw is warned of, the paper as set not.
    bank = make(tmp_path)
    wide = "\\BLOCK{if not original}\\mbox{" + "wide " * 30 + "}\\BLOCK{endif}"
    edit(bank / "q" / "good.yaml", "squared?", "squared? " + wide)
    edit(bank / "q" / "good.yaml", "generator: good_gen.py\n", "generator: good_gen.py\noriginal: {x: 2}\n")
    r = run_cli("validate", "--bank", bank, "--seeds", "2", "--compile")
    assert r.returncode == 0, r.stdout + r.stderr
    warned = re.findall(
        r"warning: good \(([^)]*)\): a line of its text or key runs \d+pt into the margin: \\question",
        r.stdout,
    )
    assert warned == ["seed 0", "seed 1"], r.stdout  # the draws validate made: --seeds 2


# ---------------------------------------------------------------- nothing lost


def test_a_build_refuses_the_root_the_home_and_the_bank_folder(tmp_path):
    from qbgen.errors import InputError
    from qbgen.publish import staging

    with pytest.raises(InputError, match="the output folder is the root folder"):  # nothing is written first
        with staging(Path("/")):
            pass
    bank = make(tmp_path)
    home = tmp_path / "home"
    home.mkdir()
    r = build_t(bank, "--out", home, env={"HOME": str(home)})
    assert "the output folder is your home folder; give a build a folder of its own" in one_line_error(r, 2)
    r = build_t(bank, "--out", bank)
    assert "the output folder is the bank folder" in one_line_error(r, 2)
    r = run_cli("preview", "good", "--bank", bank, "--out", bank)
    assert "the output folder is the bank folder" in one_line_error(r, 2)
    # Nothing written into either (qbgen's cache, ~/.cache/qbgen, is not the output).
    assert [p.name for p in home.iterdir()] in ([], [".cache"]) and not (bank / ".qbgen-lock").exists()


@needs_tex
def test_a_build_never_writes_or_deletes_through_a_symbolic_link(tmp_path):
    bank = make(tmp_path)
    out, elsewhere = tmp_path / "o", tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "exam.pdf").write_text("not qbgen's")
    assert build_t(bank, "--variants", "3", "--out", out).returncode == 0
    # C becomes a link out of the folder: a rebuild with fewer sets must not delete through it.
    shutil.rmtree(out / "C")
    (out / "C").symlink_to(elsewhere)
    r = build_t(bank, "--variants", "2", "--out", out)
    assert r.returncode == 0, r.stderr
    assert (elsewhere / "exam.pdf").read_text() == "not qbgen's"
    # B becomes a link: a build that would write into it refuses, before moving anything.
    shutil.rmtree(out / "B")
    (out / "B").symlink_to(elsewhere)
    before = (out / "A" / "exam.pdf").read_bytes()
    r = build_t(bank, "--variants", "2", "--seed", "9", "--out", out)
    assert "is a symbolic link; a build writes only inside its output folder" in one_line_error(r, 2)
    assert (out / "A" / "exam.pdf").read_bytes() == before and sorted(
        p.name for p in elsewhere.iterdir()
    ) == ["exam.pdf"]


@needs_tex
def test_a_users_own_failed_folder_survives(tmp_path):
    bank = make(tmp_path)
    out = tmp_path / "o"
    (out / "failed").mkdir(parents=True)
    (out / "failed" / "notes.txt").write_text("mine")
    assert build_t(bank, "--out", out).returncode == 0
    edit(bank / "q" / "good.yaml", "squared?", "squared? \\undefinedmacro")
    r = build_t(bank, "--out", out)
    assert "LaTeX error: Undefined control sequence" in one_line_error(r, 1)
    assert [p.name for p in (out / "failed").iterdir()] == ["notes.txt"]
    # qbgen's own failed/ (after a failure into a fresh folder) goes with the next good build.
    fresh = tmp_path / "f"
    one_line_error(build_t(bank, "--out", fresh), 1)
    assert (fresh / "failed" / "exam.tex").is_file()
    edit(bank / "q" / "good.yaml", "squared? \\undefinedmacro", "squared?")
    assert build_t(bank, "--out", fresh).returncode == 0
    assert not (fresh / "failed").exists()


@needs_tex
def test_a_users_own_exam_tex_or_manifest_makes_the_build_refuse_naming_it(tmp_path):
    # Only what qbgen recorded (.qbgen-files) is qbgen's: a manifest.json of any shape
    # is not taken for a previous build's.
    bank = make(tmp_path)
    for name in ("exam.tex", "manifest.json"):
        out = tmp_path / f"o-{name}"
        out.mkdir()
        (out / name).write_text('{"papers": [{"folder": "A"}]}')
        (out / "A").mkdir()
        (out / "A" / "exam.pdf").write_text("mine too")
        r = build_t(bank, "--out", out)
        assert f"{out / name}: was not written by a qbgen build" in one_line_error(r, 2)
        assert (out / name).read_text() == '{"papers": [{"folder": "A"}]}'
        assert (out / "A" / "exam.pdf").read_text() == "mine too"
        assert sorted(p.name for p in out.iterdir()) == sorted([".qbgen-lock", "A", name])


@needs_tex
def test_a_rebuild_swaps_the_whole_folder_in_one_step_and_keeps_the_users_files(tmp_path):
    from qbgen.publish import RECORD, stage_pattern

    bank = make(tmp_path)
    out = tmp_path / "o"
    assert build_t(bank, "--variants", "3", "--out", out).returncode == 0
    (out / "notes.txt").write_text("mine")
    (out / "C" / "seat.txt").write_text("mine too")
    (out / "empty").mkdir()
    (out / "link").symlink_to(tmp_path)
    folder, note = out.stat().st_ino, (out / "notes.txt").stat().st_ino
    r = build_t(bank, "--variants", "2", "--seed", "5", "--out", out)
    assert r.returncode == 0, r.stderr
    # A new folder took the old one's place in one rename; the user's files are the
    # same files (hard links), not copies; the previous build's set C went.
    assert out.stat().st_ino != folder
    assert (out / "notes.txt").stat().st_ino == note and (out / "notes.txt").read_text() == "mine"
    assert [p.name for p in (out / "C").iterdir()] == ["seat.txt"]
    assert (out / "empty").is_dir() and (out / "link").readlink() == tmp_path
    recorded = json.loads((out / RECORD).read_text())["files"]
    assert "A/exam.pdf" in recorded and not any(f.startswith("C/") or "notes" in f for f in recorded)
    assert all((out / f).is_file() for f in recorded)
    assert not list(tmp_path.glob(stage_pattern(out)))


def _one_whole_build(out):
    # Whatever happened, the folder holds one complete build: every recorded file is
    # there, and every paper's manifest is of the seed the top manifest names.
    top = json.loads((out / "manifest.json").read_text())
    files = json.loads((out / ".qbgen-files").read_text())["files"]
    assert all((out / f).is_file() for f in files)
    folders = [p["folder"] for p in top["papers"]]
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == sorted(folders)
    for folder in folders:
        assert json.loads((out / folder / "manifest.json").read_text())["seed"] == top["seed"]
    return top["seed"]


@needs_tex
def test_a_build_killed_at_any_moment_leaves_one_whole_build(tmp_path):
    bank = make(tmp_path)
    out = tmp_path / "o"
    started = time.monotonic()
    assert build_t(bank, "--variants", "3", "--seed", "1", "--out", out).returncode == 0
    took = time.monotonic() - started
    seeds = {1}
    for i, moment in enumerate((0.6, 0.9, 1.02)):  # while LaTeX runs, near and at the swap
        cmd = [sys.executable, "-m", "qbgen", "build", str(bank / "exams" / "t.yaml"), "--bank", str(bank)]
        proc = subprocess.Popen(
            [*cmd, "--variants", str(2 + i % 2), "--seed", str(10 + i), "--out", str(out)],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        time.sleep(took * moment)
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=60)
        seeds.add(10 + i)
        assert _one_whole_build(out) in seeds
    r = build_t(bank, "--variants", "2", "--seed", "99", "--out", out)
    assert r.returncode == 0 and _one_whole_build(out) == 99, r.stderr


def test_ctrl_c_while_the_output_is_swapped_waits_and_says_so():
    # Publishing defers SIGINT and SIGTERM until the folder is whole, then acts on them.
    code = """if True:
        import os, signal
        from qbgen.publish import _deferred_signals
        try:
            with _deferred_signals():
                os.kill(os.getpid(), signal.SIG)
                print("published", flush=True)
        except KeyboardInterrupt as exc:
            print("then:", exc.what, flush=True)
        print("ran on", flush=True)
    """
    r = subprocess.run(
        [sys.executable, "-c", code.replace("SIG)", "SIGINT)")], capture_output=True, text=True
    )
    assert r.stdout == "published\nthen: the new output was already in place\nran on\n", r.stderr
    r = subprocess.run(
        [sys.executable, "-c", code.replace("SIG)", "SIGTERM)")], capture_output=True, text=True
    )
    assert r.stdout == "published\n" and r.returncode == -signal.SIGTERM


def test_publishing_one_file_at_a_time_where_no_swap_can_be_made(tmp_path):
    # A staging folder inside the output (its parent read-only, a mount point) publishes
    # file by file: the user's files stay, the previous build's extra files go, the
    # record is written last.
    import tempfile

    from qbgen.publish import publish, recorded

    out = tmp_path / "o"
    out.mkdir()
    (out / "mine.txt").write_text("mine")

    def stage(files):
        tmp = Path(tempfile.mkdtemp(prefix=f".qbgen-build-{os.getpid()}-", dir=out))
        for name in files:
            (tmp / name).parent.mkdir(parents=True, exist_ok=True)
            (tmp / name).write_text(name)
        (tmp / ".work").mkdir()  # scratch a writer left: never published
        return tmp

    tmp = stage(["a.txt", "d/b.txt", "manifest.json"])
    publish(tmp, out, ["a.txt", "d/b.txt", "manifest.json"])
    shutil.rmtree(tmp)
    assert recorded(out) == {"a.txt", "d/b.txt", "manifest.json"}
    assert (out / "d" / "b.txt").read_text() == "d/b.txt"
    tmp = stage(["a.txt"])
    publish(tmp, out, ["a.txt"])
    shutil.rmtree(tmp)
    assert sorted(p.name for p in out.iterdir()) == [".qbgen-files", "a.txt", "mine.txt"]
    assert recorded(out) == {"a.txt"} and (out / "mine.txt").read_text() == "mine"


@needs_tex
def test_a_second_build_into_a_folder_being_written_is_refused(tmp_path):
    import fcntl

    bank = make(tmp_path)
    out = tmp_path / "o"
    out.mkdir()
    with open(out / ".qbgen-lock", "w") as held:  # what a build in progress holds
        fcntl.flock(held, fcntl.LOCK_EX)
        r = build_t(bank, "--out", out)
        assert "another qbgen build is writing into this folder" in one_line_error(r, 2)
        assert sorted(p.name for p in out.iterdir()) == [".qbgen-lock"]
    r = build_t(bank, "--out", out)
    assert r.returncode == 0 and (out / "exam.pdf").is_file(), r.stderr


@needs_tex
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL])
def test_interrupted_build_leaves_earlier_output_untouched(tmp_path, sig):
    out = tmp_path / "o"
    first = run_cli("build", "--seed", "1", "--out", out)
    assert first.returncode == 0, first.stderr
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    # Twenty variants into the same folder take seconds; stop it while LaTeX runs.
    env = dict(os.environ, QBGEN_NO_FORMAT="1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "qbgen", "build", "--variants", "20", "--out", str(out)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    from qbgen.publish import stage_pattern

    staged = stage_pattern(out)  # the staging folder, beside the output folder
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not list(out.parent.glob(f"{staged}/.work/*.log")):
        time.sleep(0.05)
    assert proc.poll() is None, "the build ended before it could be interrupted"
    os.killpg(proc.pid, sig)
    proc.wait(timeout=60)
    after = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before
    if sig == signal.SIGINT:
        assert not list(out.parent.glob(staged)), "Ctrl-C cleans its staging folder"
        err = proc.stderr.read().decode()
        assert err.endswith("error: interrupted; earlier output left as it was\n"), err
    # The next build sweeps what a killed one left and succeeds.
    again = run_cli("build", "--seed", "2", "--out", out)
    assert again.returncode == 0, again.stderr
    assert not list(out.parent.glob(staged)) and not list(out.glob(".qbgen-build-*"))


@needs_tex
def test_ctrl_c_while_the_pdfs_are_cut_is_one_line_and_leaves_one_whole_build(tmp_path):
    from qbgen.publish import stage_pattern

    out = tmp_path / "o"
    assert run_cli("build", "--variants", "2", "--seed", "1", "--out", out).returncode == 0
    staged = stage_pattern(out)
    proc = subprocess.Popen(
        [sys.executable, "-m", "qbgen", "build", "--variants", "12", "--seed", "2", "--out", str(out)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    # The cut starts when the first set's PDF appears in the staging folder.
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and proc.poll() is None:
        if list(tmp_path.glob(f"{staged}/*/exam.pdf")):
            break
        time.sleep(0.005)
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGINT)
    _out, err = proc.communicate(timeout=60)
    text = err.decode()
    assert "Traceback" not in text, text
    if proc.returncode != 0:  # caught in time: one line, and the workers said nothing
        assert proc.returncode == 130 and text.count("\n") == 1, text
        assert text.startswith("error: interrupted; "), text
    assert _one_whole_build(out) in (1, 2)
    assert not list(tmp_path.glob(staged))


@pytest.fixture()
def small_disk(tmp_path):
    """A real, small file system (tmpfs) where the machine lets this user mount one."""
    mounted = []

    def make(size):
        where = tmp_path / f"disk-{size}"
        where.mkdir()
        r = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], capture_output=True
        )
        if r.returncode != 0:
            pytest.skip("this machine does not let the tests mount a small tmpfs")
        mounted.append(where)
        return where

    yield make
    for where in mounted:
        subprocess.run(["umount", str(where)], check=False)


@needs_tex
def test_a_full_disk_while_the_pdfs_are_cut_is_one_line_and_leaves_nothing(small_disk):
    out = small_disk("2m") / "o"
    r = run_cli("build", "--variants", "3", "--out", out)
    line = one_line_error(r, 2)
    assert line == f"error: {out}: writing the PDFs failed: OSError: [Errno 28] No space left on device"
    assert sorted(p.name for p in out.parent.iterdir()) == ["o"]  # no staging folder left
    assert [p.name for p in out.iterdir()] == [".qbgen-lock"]


@needs_tex
def test_a_full_disk_under_latex_tells_the_latex_error_not_a_traceback(small_disk):
    out = small_disk("300k") / "o"
    r = run_cli("build", "--out", out)
    line = one_line_error(r, 1)
    # The PDF's write failing, or (where the log itself was cut short) LaTeX's files.
    said = r"LaTeX error: LaTeX could not write (the PDF|its files): is the disk full\?$"
    assert re.search(said, line), line
    assert not (out / "exam.pdf").exists()


@needs_tex
def test_a_brace_never_closed_names_its_question_not_the_end_of_the_file(tmp_path):
    # TeX reads to the end of the file looking for the brace: the error's line is the
    # file's last, but the place is where the argument began.
    bank = make(tmp_path)
    edit(bank / "q" / "good.yaml", "squared?", "squared? \\textbf{never closed")
    line = one_line_error(build_t(bank, "--variants", "2", "--out", tmp_path / "o"), 1)
    assert "question good: LaTeX error: File ended while scanning use of \\textbf" in line, line
    assert line.endswith("(a brace opened there is never closed)"), line
    source, number = line.split(": ")[1].rsplit(":", 1)
    assert "\\textbf{never closed" in Path(source).read_text().splitlines()[int(number) - 1]


@pytest.mark.parametrize(
    ("line", "said"),
    [
        (
            "date: 2026-03-01",
            'date: YAML reads 2026-03-01 as a date, not text: write it in quotes, "2026-03-01"',
        ),
        (
            "duration: 1:30",
            'duration: YAML reads 1:30 as the number 90 (base 60), not text: write it in quotes, "1:30"',
        ),
        ("shufle_options: true", "shufle_options: unknown field (did you mean 'shuffle_options'?)"),
    ],
)
def test_a_spec_field_yaml_misreads_or_misspelt_gets_a_hint(tmp_path, line, said):
    bank = make(tmp_path, exams__t_yaml=GOOD_SPEC.replace("course: Test", f"course: Test\n    {line}"))
    assert (
        one_line_error(build_t(bank, "--out", tmp_path / "o"), 2)
        == f"error: {bank / 'exams' / 't.yaml'}:2: {said}"
    )


def test_an_unknown_answer_field_that_is_not_required_still_gets_a_guess(tmp_path):
    bank = make(tmp_path, q__good_yaml=GOOD_Q.replace("label: Square", "lable: Square"))
    line = one_line_error(run_cli("list", "--bank", bank), 2)
    assert line.endswith("answers[0].lable: unknown field (did you mean 'label'?)"), line


@needs_tex
@pytest.mark.parametrize("style", ["iitjammu-a", "iitjammu-b"])
def test_the_house_styles_print_the_specs_date(tmp_path, style):
    spec = GOOD_SPEC.replace("course: Test", f'course: Test\n    date: "1 March 2026"\n    style: {style}')
    bank = make(tmp_path, exams__t_yaml=spec)
    assert build_t(bank, "--out", tmp_path / "o").returncode == 0
    assert "1 March 2026" in pdf_text(tmp_path / "o" / "exam.pdf")


def test_validate_reports_every_broken_file_and_checks_every_question_besides(tmp_path):
    import xml.etree.ElementTree as ET

    bank = make(
        tmp_path,
        q__broken_yaml=GOOD_Q.replace("id: good", "id: broken").replace("marks: 2\n", "marks: two\n", 1),
    )
    junit = tmp_path / "v.xml"
    r = run_cli("validate", "--bank", bank, "--seeds", "2", "--junit", junit)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "FAIL broken" in r.stdout and "ok   good" in r.stdout and "ok   spec t" in r.stdout, r.stdout
    assert f"does not load: {bank / 'q' / 'broken.yaml'}:5: marks:" in r.stdout, r.stdout
    cases = {c.get("name"): c for c in ET.parse(junit).getroot().iter("testcase")}
    assert cases["broken"].find("failure") is not None and cases["good"].find("failure") is None


def test_validate_checks_that_every_spec_resolves(tmp_path):
    bank = make(tmp_path, exams__t_yaml=GOOD_SPEC.replace("[good]", "[goood]"))
    r = run_cli("validate", "--bank", bank, "--seeds", "2")
    assert r.returncode == 1 and "ok   good" in r.stdout, r.stdout + r.stderr
    assert "FAIL spec t" in r.stdout and f"{bank / 'exams' / 't.yaml'}:4: " in r.stdout, r.stdout
    assert "goood" in r.stdout
