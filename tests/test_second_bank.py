"""Another institute's bank (docs/AUTHORING.md's walkthrough): builtin questions beside
its own, its house style, its packages and its `_lib`; several banks in one run."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from qbgen.assemble import show_instance
from qbgen.bank import load_bank
from qbgen.errors import InputError, QuestionFailure
from qbgen.resources import bank_dirs, shipped_bank
from qbgen.settings import load_settings

from .conftest import ROOT, needs_tex, pdf_text, run_cli, write_tree

EXAMPLE = ROOT / "examples" / "second-bank"
GUIDE = ROOT / "docs" / "AUTHORING.md"


def _guide_command(prefix: str) -> list[str]:
    # The walkthrough's own command line, as the guide prints it.
    for line in GUIDE.read_text().splitlines():
        if line.startswith(prefix):
            return line.split("#")[0].split()[1:]
    raise AssertionError(f"the guide has no line starting {prefix!r}")


def _windows(n: int, k: int, stride: int, padding: int, dilation: int) -> int:
    # This test's own count: lay the dilated kernel at every start, keep those that fit.
    padded = list(range(-padding, n + padding))
    return sum(1 for i in range(0, len(padded), stride) if i + dilation * (k - 1) <= len(padded) - 1)


@needs_tex
def test_the_guides_walkthrough_builds_its_midterm(tmp_path):
    args = _guide_command("qbgen build midterm")
    assert args == ["build", "midterm", "--bank", "examples/second-bank", "--bank", "builtin"]
    r = run_cli(*args, "--out", tmp_path / "out", "--json")
    assert r.returncode == 0, r.stderr
    out = tmp_path / "out"
    exam, key = pdf_text(out / "exam.pdf"), pdf_text(out / "key.pdf")
    # Northfield's own header, from its bank's style (which imports qbgen's common pieces).
    for text in ("Northfield Institute of Technology", "CS 4410 Neural Networks", "Student no.:"):
        assert text in exam and text in key
    assert "Midterm Examination -- Answer Key" in key.replace("–", "--")
    assert "Indian Institute of Technology Jammu" not in exam
    assert "[4 pts]" in exam and "marks]" not in exam  # the style's own marks
    manifest = json.loads((out / "manifest.json").read_text())
    ids = [q["id"] for q in manifest["questions"]]
    assert ids == ["conv-output-size", "vit-attention-weights", "rnn-layer-params"]  # two from builtin
    conv = manifest["questions"][0]
    p = conv["params"]
    size = _windows(p["size"], p["kernel"], p["stride"], p["padding"], p["dilation"])
    assert conv["answers"]["out"] == size
    assert f"Output height (and width): {size}" in key
    assert (
        conv["answers"]["params"]
        == p["out_channels"] * p["in_channels"] * p["kernel"] ** 2 + p["out_channels"]
    )
    # The bank's package is loaded and its macro used; the exam holds no answer.
    tex = (out / "exam.tex").read_text()
    assert "\\usepackage{bm}" in tex and "\\bm{W}_j" in tex


def test_the_guides_banks_validate_together():
    args = _guide_command("qbgen validate --bank examples/second-bank")
    r = run_cli(*args, "--seeds", "30")
    assert r.returncode == 0, r.stdout + r.stderr
    assert re.search(r"^ok\s+conv-output-size\s+30 seeds", r.stdout, re.M)
    assert re.search(r"^ok\s+spec midterm\s+resolves", r.stdout, re.M)
    assert re.search(r"^ok\s+spec paper-b\s+resolves", r.stdout, re.M)  # the builtin bank's specs too
    # QBGEN_BANK lists the same banks, separated by ':'.
    env = run_cli("list", "--json", env={"QBGEN_BANK": "examples/second-bank:builtin"})
    assert env.returncode == 0, env.stderr
    assert {"conv-output-size", "vit-attention-weights"} <= {q["id"] for q in json.loads(env.stdout)}


def test_a_broken_solve_in_the_example_fails_validate(tmp_path):
    bank = Path(shutil.copytree(EXAMPLE, tmp_path / "second-bank"))
    gen = bank / "cnn" / "conv_output_size.py"
    gen.write_text(gen.read_text().replace("weights + p.out_channels\n", "weights\n"))
    r = run_cli("validate", "--bank", bank, "--bank", "builtin", "-q", "conv-output-size", "--seeds", "5")
    assert r.returncode == 1
    assert "FAIL conv-output-size" in r.stdout and "params" in r.stdout


def test_qbgen_bank_lists_folders_and_builtin(tmp_path):
    settings = load_settings({"QBGEN_BANK": f"{tmp_path}:builtin"})
    assert settings.banks == (tmp_path, Path("builtin"))
    assert bank_dirs([tmp_path, Path("builtin"), tmp_path]) == (tmp_path, shipped_bank())
    with pytest.raises(InputError, match="bank folder not found"):
        bank_dirs([tmp_path / "nowhere"])


LIB_QUESTION = """
    id: {qid}
    title: Uses the bank's helper
    topic: maths
    kind: numeric
    marks: 1
    generator: {gen}.py
    prompt: Give the factor for \\VAR{{p.x}}.
    answers:
      - {{kind: numeric, key: y, label: y}}
    rubric:
      - {{marks: 1, text: The product.}}
"""

LIB_GENERATOR = """
    import numpy as np
    from pydantic import Field

    from _lib.helpers import factor
    from qbgen import authoring
    from qbgen.authoring import Solution, agree


    class Params(authoring.Params):
        x: int = Field(ge=1, le=9)


    def sample(rng: np.random.Generator) -> Params:
        return Params(x=int(rng.integers(1, 10)))


    def solve(p: Params) -> Solution:
        from _lib import helpers  # an import inside a function sees the same bank's _lib

        return Solution(answers={{"y": factor() * p.x + helpers.OFFSET - helpers.OFFSET}})


    def check(p: Params, s: Solution) -> None:
        agree("y", sum({factor} for _ in range(p.x)), s.answers["y"])
"""


def _lib_bank(root: Path, qid: str, factor: int) -> Path:
    return write_tree(
        root,
        {
            "_lib/helpers.py": f"OFFSET = 7\n\n\ndef factor() -> int:\n    return {factor}\n",
            f"maths/{qid}.yaml": LIB_QUESTION.format(qid=qid, gen=qid.replace("-", "_")),
            f"maths/{qid.replace('-', '_')}.py": LIB_GENERATOR.format(factor=factor),
        },
    )


def test_two_banks_lib_never_collide(tmp_path):
    one = _lib_bank(tmp_path / "one", "times-two", 2)  # _lib/ without __init__.py
    two = _lib_bank(tmp_path / "two", "times-three", 3)
    (two / "_lib" / "__init__.py").write_text('"""Bank two\'s helpers."""\n')
    bank = load_bank([one, two])
    for qid, factor in (("times-two", 2), ("times-three", 3)):
        inst = show_instance(bank, qid, 5)
        assert inst.answers["y"] == factor * inst.params["x"], qid
    import sys

    assert "_lib" not in sys.modules  # nothing of a bank's _lib is left in the way


def test_validate_checks_lib_banks_together(tmp_path):
    one = _lib_bank(tmp_path / "one", "times-two", 2)
    two = _lib_bank(tmp_path / "two", "times-three", 3)
    r = run_cli("validate", "--bank", one, "--bank", two, "--seeds", "10")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "2 passed, 0 failed" in r.stdout


@pytest.mark.parametrize(
    ("where", "line"),
    [
        ("_lib/helpers.py", "from qbgen.bank import load_bank\n"),
        ("maths/times_two.py", "import qbgen.validate\n"),
    ],
)
def test_bank_code_importing_qbgen_internals_is_refused(tmp_path, where, line):
    bank = _lib_bank(tmp_path / "one", "times-two", 2)
    path = bank / where
    path.write_text(line + path.read_text())
    r = run_cli("list", "--bank", bank)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    name = line.split()[1]
    assert f"{path}:1:" in r.stderr and f"imports {name}" in r.stderr
    assert "only qbgen.authoring" in r.stderr


def test_a_lib_module_failing_names_its_own_line(tmp_path):
    bank = _lib_bank(tmp_path / "one", "times-two", 2)
    helpers = bank / "_lib" / "helpers.py"
    helpers.write_text("OFFSET = 7\nRATE = 1 / 0\n")
    r = run_cli("list", "--bank", bank)
    assert r.returncode == 2, r.stderr
    assert f"{helpers}:2:" in r.stderr and "ZeroDivisionError" in r.stderr


def test_one_id_in_two_banks_names_both_files(tmp_path):
    one = _lib_bank(tmp_path / "one", "times-two", 2)
    two = _lib_bank(tmp_path / "two", "times-two", 3)
    r = run_cli("list", "--bank", one, "--bank", two)
    assert r.returncode == 2
    assert str(two / "maths" / "times-two.yaml") in r.stderr
    assert str(one / "maths" / "times-two.yaml") in r.stderr
    # A source of the builtin bank claimed again by one's own question: both named too.
    q = one / "maths" / "times-two.yaml"
    q.write_text(q.read_text().replace("marks: 1\n", "marks: 1\nsources: [paper-b:9]\n"))
    r = run_cli("list", "--bank", "builtin", "--bank", one)
    assert r.returncode == 2 and "paper-b:9" in r.stderr and "vit-attention-weights.yaml" in r.stderr


def test_specs_of_every_bank_by_name_and_the_default(tmp_path):
    bank = Path(shutil.copytree(EXAMPLE, tmp_path / "second-bank"))
    (bank / "exams" / "quiz-1.yaml").write_text((bank / "exams" / "midterm.yaml").read_text())
    r = run_cli("build", "--bank", bank, "--bank", "builtin", "--out", tmp_path / "o")
    assert r.returncode == 2 and "which exam spec?" in r.stderr and "midterm, quiz-1" in r.stderr
    (bank / "exams" / "paper-b.yaml").write_text((bank / "exams" / "midterm.yaml").read_text())
    r = run_cli("build", "paper-b", "--bank", bank, "--bank", "builtin", "--out", tmp_path / "o")
    assert r.returncode == 2 and "in more than one bank" in r.stderr
    r = run_cli("build", "nosuch", "--bank", bank, "--bank", "builtin", "--out", tmp_path / "o")
    assert r.returncode == 2 and "midterm" in r.stderr and "paper-a" in r.stderr


def test_a_style_not_in_its_bank_lists_the_banks_and_shipped(tmp_path):
    bank = Path(shutil.copytree(EXAMPLE, tmp_path / "second-bank"))
    spec = bank / "exams" / "midterm.yaml"
    spec.write_text(spec.read_text().replace("style: northfield", "style: northfeld"))
    r = run_cli("build", "midterm", "--bank", bank, "--bank", "builtin", "--out", tmp_path / "o")
    assert r.returncode == 2, r.stderr
    line = next(i for i, t in enumerate(spec.read_text().splitlines(), 1) if t.startswith("style:"))
    assert f"{spec}:{line}:" in r.stderr
    assert "northfield, iitjammu-a, iitjammu-b" in r.stderr


def test_a_package_not_installed_names_its_line(tmp_path):
    bank = Path(shutil.copytree(EXAMPLE, tmp_path / "second-bank"))
    config = bank / "bank.yaml"
    config.write_text(config.read_text() + "  - {name: qbgen-no-such-package}\n")
    r = run_cli("list", "--bank", bank)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    line = len(config.read_text().splitlines())
    assert f"{config}:{line}:" in r.stderr and "qbgen-no-such-package" in r.stderr
    config.write_text("name: Second Bank\n")
    r = run_cli("list", "--bank", bank)
    assert r.returncode == 2 and f"{config}:1:" in r.stderr and "name" in r.stderr


@needs_tex
def test_package_options_reach_a_package_qbgen_loads_too(tmp_path):
    # xcolor with `table` (qbgen loads xcolor itself): \rowcolor typesets, no option clash.
    bank = write_tree(
        tmp_path / "b",
        {
            "bank.yaml": "packages:\n  - {name: xcolor, options: table}\n  - booktabs\n",
            "maths/shaded.yaml": """
                id: shaded
                title: A shaded table
                topic: maths
                kind: text
                marks: 1
                prompt: |
                  \\begin{tabular}{ll}\\toprule
                  \\rowcolor{gray!20} a & b \\\\ \\bottomrule
                  \\end{tabular}
                answers:
                  - {kind: text, label: Answer, text: Yes.}
                rubric:
                  - {marks: 1, text: Yes.}
            """,
        },
    )
    r = run_cli("preview", "shaded", "--bank", bank, "--out", tmp_path / "p")
    assert r.returncode == 0, r.stderr
    tex = (tmp_path / "p" / "shaded.tex").read_text()
    assert tex.index("\\PassOptionsToPackage{table}{xcolor}") < tex.index("\\documentclass")
    assert "\\usepackage{booktabs}" in tex


def test_the_example_bank_yaml_validates_against_the_shipped_schema():
    import jsonschema
    import yaml

    from qbgen.models import json_schemas

    jsonschema.validate(yaml.safe_load((EXAMPLE / "bank.yaml").read_text()), json_schemas()["bank"])
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"packages": [{"name": "x", "options": "a}b"}]}, json_schemas()["bank"])


@needs_tex
def test_the_crib_of_sets_loads_the_banks_packages(tmp_path):
    bank = Path(shutil.copytree(EXAMPLE, tmp_path / "second-bank"))
    q = bank / "cnn" / "conv-output-size.yaml"
    q.write_text(
        q.read_text().replace("label: Learnable parameters", r"label: Learnable parameters of $\bm{W}$")
    )
    r = run_cli(
        "build", "midterm", "--bank", bank, "--bank", "builtin", "--variants", "2", "--out", tmp_path / "o"
    )
    assert r.returncode == 0, r.stderr
    assert "Learnable parameters of" in pdf_text(tmp_path / "o" / "crib.pdf", layout=True)


def test_a_lib_edit_is_seen_by_the_next_load_and_params_validators_see_lib(tmp_path):
    bank = _lib_bank(tmp_path / "one", "times-two", 2)
    gen = bank / "maths" / "times_two.py"
    gen.write_text(
        gen.read_text()
        .replace(
            "    x: int = Field(ge=1, le=9)\n",
            "    x: int = Field(ge=1, le=9)\n\n"
            "    @field_validator('x')\n    @classmethod\n    def _odd_ok(cls, v):\n"
            "        from _lib.helpers import OFFSET  # lazily, as Params validates\n\n"
            "        return v + OFFSET - OFFSET\n",
        )
        .replace("from pydantic import Field", "from pydantic import Field, field_validator")
        + "\n"
    )
    (bank / "maths" / "times-two.yaml").write_text(
        (bank / "maths" / "times-two.yaml").read_text().replace("generator:", "original: {x: 3}\ngenerator:")
    )
    assert show_instance(load_bank(bank), "times-two", None).answers["y"] == 6
    (bank / "_lib" / "helpers.py").write_text("OFFSET = 7\n\n\ndef factor() -> int:\n    return 5\n")
    # The edit, not a cache: solve now gives 5x (and check, which says 2x, objects).
    with pytest.raises(QuestionFailure, match="check derived 6, solve gave 15"):
        show_instance(load_bank(bank), "times-two", None)


def test_new_refuses_an_id_another_bank_of_the_run_has(tmp_path):
    r = run_cli("new", "cnn-table", "--topic", "cnn", "--bank", tmp_path / "mine", "--bank", "builtin")
    assert r.returncode == 2 and "already exists" in r.stderr and "cnn-table.yaml" in r.stderr
    assert not (tmp_path / "mine" / "cnn").exists()


def test_two_banks_options_for_one_package_are_both_passed(tmp_path):
    one = write_tree(tmp_path / "one", {"bank.yaml": "packages: [{name: xcolor, options: dvipsnames}]\n"})
    two = write_tree(
        tmp_path / "two", {"bank.yaml": "packages: [{name: xcolor, options: 'table,dvipsnames'}]\n"}
    )
    (package,) = load_bank([one, two]).packages
    assert (package.name, package.options) == ("xcolor", "dvipsnames,table")
