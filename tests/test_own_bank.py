"""An instructor's own bank outside the repo: new, validate (JUnit), preview, schema, wheel."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest
import yaml

from .conftest import BANK, ROOT, needs_tex, pdf_text, run_cli


@pytest.fixture(scope="module")
def scaffolded(tmp_path_factory):
    # A bank of one skeleton per kind, made by `qbgen new` once for the module.
    bank = tmp_path_factory.mktemp("scaffolded") / "my-bank"
    for qid, kind, topic in [
        ("conv-size", "numeric", "cnn"),
        ("squares", "table", "maths"),
        ("why-relu", "text", "fcnn"),
        ("pick-metric", "choice", "fcnn"),
        ("fix-code", "code", "fcnn"),
    ]:
        r = run_cli("new", qid, "--kind", kind, "--topic", topic, "--bank", bank)
        assert r.returncode == 0, r.stderr
    return bank


@pytest.fixture()
def own(scaffolded, tmp_path):
    """A fresh copy of the scaffolded bank: a test may change its files."""
    return Path(shutil.copytree(scaffolded, tmp_path / "my-bank"))


def test_new_questions_validate_with_junit(own, tmp_path):
    assert (own / "cnn" / "conv-size.yaml").exists() and (own / "cnn" / "conv_size.py").exists()
    assert "TODO" in (own / "cnn" / "conv-size.yaml").read_text()
    junit = tmp_path / "report.xml"
    r = run_cli("validate", "--seeds", "20", "--junit", junit, env={"QBGEN_BANK": str(own)})
    assert r.returncode == 0, r.stdout + r.stderr
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite.get("tests") == "5" and suite.get("failures") == "0"
    assert {c.get("name") for c in suite.iter("testcase")} == {
        "conv-size",
        "squares",
        "why-relu",
        "pick-metric",
        "fix-code",
    }


def test_wrong_scaffold_solve_fails_validate_naming_it(own, tmp_path):
    gen = own / "cnn" / "conv_size.py"
    gen.write_text(gen.read_text().replace("product = p.a * p.b", "product = p.a * p.b + (p.a == 7)"))
    junit = tmp_path / "report.xml"
    r = run_cli("validate", "--bank", own, "--seeds", "100", "--junit", junit)
    assert r.returncode == 1
    assert "FAIL conv-size" in r.stdout and "check failed: product" in r.stdout
    assert "1 failed" in r.stdout
    failure = next(c for c in ET.parse(junit).getroot().iter("testcase") if c.get("name") == "conv-size")
    message = failure.find("failure").get("message")
    assert "check derived" in message and "(seed " in message


def test_new_refuses_a_taken_id_and_a_bad_kind(own):
    r = run_cli("new", "conv-size", "--kind", "text", "--bank", own)
    assert r.returncode == 2 and "already exists" in r.stderr
    r = run_cli("new", "other", "--kind", "essay", "--bank", own)
    assert r.returncode == 2 and "no kind 'essay'" in r.stderr


@needs_tex
def test_preview_one_question(own, tmp_path):
    r = run_cli("preview", "conv-size", "--bank", own, "--seed", "4", "--out", tmp_path / "pv")
    assert r.returncode == 0, r.stderr
    pdf = Path(r.stdout.strip())
    text = pdf_text(pdf)
    assert "Preview of conv-size, seed 4" in text and "Marking scheme" in text
    # Both views in one PDF: the exam's (no answers), then the key's.
    exam_part, _, key_part = text.partition("Answer Key")
    assert "Marking scheme" not in exam_part and "Marking scheme" in key_part


@needs_tex
def test_preview_with_a_seed_shuffles_options_as_a_build_of_that_seed(tmp_path):
    # paper-b shuffles its choice options: question 2's order in a build is the preview's.
    out = tmp_path / "b"
    assert run_cli("build", "paper-b", "--seed", "5", "--out", out).returncode == 0
    manifest = json.loads((out / "manifest.json").read_text())
    q = next(q for q in manifest["questions"] if q["id"] == "evaluation-metric")
    r = run_cli("preview", "evaluation-metric", "--seed", q["seed"], "--out", tmp_path / "pv")
    assert r.returncode == 0, r.stderr

    def order(text):
        line = next(ln for ln in text.splitlines() if "(A)" in ln and "Recall" in ln)
        return sorted(["Accuracy", "Precision", "Recall", "Loss Value"], key=line.index)

    built = order(pdf_text(out / "exam.pdf", layout=True))
    assert order(pdf_text(Path(r.stdout.strip()), layout=True)) == built
    assert built != ["Accuracy", "Precision", "Recall", "Loss Value"]  # the file's order: shuffled


@needs_tex
def test_validate_compile_names_a_question_latex_rejects(own):
    path = own / "fcnn" / "why-relu.yaml"
    path.write_text(path.read_text().replace("\\emph{...}.", "\\emph{...}. \\nosuchmacro"))
    r = run_cli("validate", "--bank", own, "--seeds", "3", "--compile")
    assert r.returncode == 1
    assert "FAIL why-relu" in r.stdout and "does not typeset" in r.stdout
    assert "Undefined control sequence" in r.stdout
    assert r.stdout.count("FAIL") == 1


def test_validate_warns_of_draws_that_hardly_vary(own):
    gen = own / "cnn" / "conv_size.py"
    gen.write_text(
        gen.read_text().replace(
            "a=int(rng.integers(2, 13)), b=int(rng.integers(2, 13))", "a=3, b=int(rng.integers(2, 4))"
        )
    )
    r = run_cli("validate", "--bank", own, "--seeds", "100")
    assert r.returncode == 0
    assert "warning: draws hardly vary: 2 distinct params in 100 seeds" in r.stdout


def test_schema_validates_the_shipped_bank(tmp_path):
    r = run_cli("schema", "--out", tmp_path)
    assert r.returncode == 0, r.stderr
    question = json.loads((tmp_path / "question.schema.json").read_text())
    spec = json.loads((tmp_path / "spec.schema.json").read_text())
    files = sorted(BANK.rglob("*.yaml"))
    assert len(files) > 30
    for f in files:
        schema = spec if f.parent.name == "exams" else question
        jsonschema.validate(yaml.safe_load(f.read_text()), schema)
    with pytest.raises(jsonschema.ValidationError):
        bad = yaml.safe_load((BANK / "rnn" / "lstm-vs-rnn-params.yaml").read_text()) | {"colour": "red"}
        jsonschema.validate(bad, question)


@needs_tex
@pytest.mark.skipif(os.environ.get("QBGEN_SKIP_WHEEL") == "1", reason="QBGEN_SKIP_WHEEL=1")
def test_wheel_carries_templates_and_bank(tmp_path):
    dist = tmp_path / "dist"
    r = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(dist), str(ROOT)],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    wheel = next(dist.glob("qbgen-*.whl"))
    venv = tmp_path / "venv"
    # A truly fresh virtualenv: the wheel's own metadata must bring every dependency
    # (pip takes them from its cache when this machine has installed them before).
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = subprocess.run(
        [str(venv / "bin" / "pip"), "install", "-q", str(wheel)], capture_output=True, text=True
    )
    assert pip.returncode == 0, pip.stderr
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("QBGEN_BANK", "PYTHONPATH")}
    r = subprocess.run(
        [str(venv / "bin" / "qbgen"), "build"], cwd=elsewhere, env=env, capture_output=True, text=True
    )
    assert r.returncode == 0, r.stderr
    assert "Max. Marks: 50" in pdf_text(elsewhere / "output" / "paper-b" / "exam.pdf")
    # `new` without --bank would write into the installed package: refused, one line.
    r = subprocess.run(
        [str(venv / "bin" / "qbgen"), "new", "mine", "--kind", "text"],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
    )
    assert r.returncode == 2 and r.stderr.startswith("error: give --bank DIR"), r.stderr
    r = subprocess.run(
        [str(venv / "bin" / "qbgen"), "new", "mine", "--kind", "text", "--bank", "b"],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
    )
    guide = Path(r.stderr.strip().rsplit(": ", 1)[1])
    assert r.returncode == 0 and guide.name == "AUTHORING.md" and str(venv) in str(guide), r.stderr
    assert "## An exam spec" in guide.read_text("utf-8")
    # The review site's templates, style and KaTeX ship in the wheel too.
    r = subprocess.run(
        [str(venv / "bin" / "qbgen"), "site", "--seeds", "0"],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stderr
    site = elsewhere / "output" / "site"
    assert (site / "assets" / "katex" / "katex.min.js").stat().st_size > 100_000
    assert "Question bank review: builtin" in (site / "index.html").read_text("utf-8")
    where = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import qbgen, sys; print(qbgen.__file__)"],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
    ).stdout
    assert str(venv) in where, where  # the installed copy ran, not the checkout


@needs_tex
def test_preview_watch_rebuilds_when_the_question_changes(own, tmp_path):
    out = tmp_path / "pv"
    cmd = [sys.executable, "-m", "qbgen", "preview", "why-relu", "--bank", str(own), "--out", str(out)]
    proc = subprocess.Popen(
        cmd + ["--watch"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        pdf = out / "why-relu.pdf"
        deadline = time.monotonic() + 60
        while not pdf.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert pdf.exists(), "first preview"
        first = pdf.stat().st_mtime_ns
        path = own / "fcnn" / "why-relu.yaml"
        time.sleep(0.05)
        path.write_text(path.read_text().replace("TODO The question", "Why ReLU and not sigmoid"))
        while pdf.stat().st_mtime_ns == first and time.monotonic() < deadline:
            time.sleep(0.1)
        assert pdf.stat().st_mtime_ns != first, "rebuilt after the change"
        assert "Why ReLU and not sigmoid" in pdf_text(pdf)
        # A broken edit is reported as one line; watching goes on.
        path.write_text(path.read_text().replace("  - marks: 1", "  - marks: zwei", 1))
        time.sleep(1.5)
        assert proc.poll() is None
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0
    assert "error: " in err and "marks: Input should be a valid number" in err
    assert "Traceback" not in err


def test_validate_warns_of_a_choice_key_stuck_in_one_place(own):
    path = own / "fcnn" / "pick-metric.yaml"
    r = run_cli("validate", "--bank", own, "--seeds", "40", "-q", "pick-metric")
    assert r.returncode == 0 and "warning" not in r.stdout  # shuffled: the key moves
    path.write_text(path.read_text().replace("shuffle: true", "shuffle: false"))
    r = run_cli("validate", "--bank", own, "--seeds", "40", "-q", "pick-metric")
    assert r.returncode == 0
    assert "warning: the correct option is (B) in 40 of 40 draws; set shuffle: true" in r.stdout


@needs_tex
def test_build_of_another_bank_takes_its_one_spec_or_lists_them(tmp_path):
    from .conftest import copy_bank

    bank = copy_bank(tmp_path / "b", ["dropout"])
    spec = "course: A\nmax_marks: 1\nsections:\n  - questions: [dropout]\n"
    (bank / "exams" / "a.yaml").write_text(spec)
    r = run_cli("build", "--bank", bank, "--out", tmp_path / "o")
    assert r.returncode == 0 and (tmp_path / "o" / "exam.pdf").is_file(), r.stderr
    (bank / "exams" / "b.yaml").write_text(spec)
    r = run_cli("build", "--bank", bank, "--out", tmp_path / "o2")
    assert (
        r.returncode == 2
        and r.stderr == f"error: {bank}: which exam spec? give one: this bank's specs: a, b\n"
    )


def test_the_skeletons_modeline_names_a_schema_that_is_there_and_holds(own):
    for path in own.rglob("*.yaml"):
        first = path.read_text("utf-8").splitlines()[0]
        assert first.startswith("# yaml-language-server: $schema="), first
        schema = (path.parent / first.split("$schema=", 1)[1]).resolve()
        assert schema == (own / "question.schema.json").resolve()
        jsonschema.validate(yaml.safe_load(path.read_text("utf-8")), json.loads(schema.read_text("utf-8")))
