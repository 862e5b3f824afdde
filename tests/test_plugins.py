"""Kinds and export targets from other installed packages (entry points `qbgen.kinds`,
`qbgen.writers`): a tiny plugin wheel is built here, installed with pip into a folder,
and qbgen runs with that folder on its path, as it would with the package installed.

The plugin's kind, `word`, is marked by the scoring contract's `Exact` rule; its
writer lists every machine-marked answer of each set. Nothing of qbgen is changed for
them: the registries find them.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from .conftest import ROOT, needs_tex, run_cli, write_tree

KIND = '''
"""A one-word answer, marked exactly (case aside unless told)."""

from typing import ClassVar, Literal

from pydantic import Field

from qbgen.kinds.base import AnswerInstance, AnswerSpec, KindHandler
from qbgen.latex import escape
from qbgen.scoring import Exact


class WordAnswer(AnswerSpec):
    kind: Literal["word"]
    word: str = Field(min_length=1)
    case_sensitive: bool = False


class WordInstance(AnswerInstance):
    kind: Literal["word"] = "word"
    word: str
    case_sensitive: bool = False


class Word(KindHandler[WordAnswer, WordInstance]):
    name: ClassVar[str] = "word"
    rank: ClassVar[int] = 1
    spec_model = WordAnswer
    instance_model = WordInstance
    skeleton: ClassVar[str] = "prompt: TODO\\nanswers:\\n  - {kind: word, word: TODO}\\n"

    def keys(self, spec):
        return ()

    def instance(self, spec, ctx):
        return WordInstance(label=ctx.text("label"), word=spec.word, case_sensitive=spec.case_sensitive)

    def scoring(self, inst):
        return {"word": Exact(value=inst.word, case_sensitive=inst.case_sensitive)}

    def latex_exam(self, inst, *, key):
        return "\\\\par\\\\medskip Answer: \\\\rule{4cm}{0.4pt}\\\\par\\n"

    def latex_key(self, inst):
        return f"\\\\textbf{{Answer:}}\\\\enspace {escape(inst.word)}\\\\par\\n"


HANDLER = Word()
'''

WRITER = '''
"""An export target: every machine-marked answer of every set, one line each."""

from qbgen.writers.manifest import item_scoring


class WordList:
    name = "wordlist"

    def __init__(self, *, feedback=False):
        self.report = []

    def write(self, papers, folder):
        rows = ["set,item,answer,rule"]
        for paper in papers:
            for q in paper.exam.questions():
                for item, contract in item_scoring(q).items():
                    for ident, rule in contract["answers"].items():
                        rows.append(f"{paper.exam.variant},{item},{ident},{rule['rule']}")
        (folder / "wordlist.csv").write_text("\\n".join(rows) + "\\n", "utf-8")
        return ["wordlist.csv"]
'''

FILES = {
    "qbgen_word/__init__.py": "",
    "qbgen_word/kind.py": KIND,
    "qbgen_word/writer.py": WRITER,
    "qbgen_word-0.1.dist-info/METADATA": "Metadata-Version: 2.1\nName: qbgen-word\nVersion: 0.1\n",
    "qbgen_word-0.1.dist-info/WHEEL": (
        "Wheel-Version: 1.0\nGenerator: qbgen-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    ),
    "qbgen_word-0.1.dist-info/entry_points.txt": (
        "[qbgen.kinds]\nword = qbgen_word.kind:HANDLER\n\n"
        "[qbgen.writers]\nwordlist = qbgen_word.writer:WordList\n"
    ),
}

QUESTION = """
id: best-activation
title: The usual hidden activation
topic: fcnn
prompt: Name the activation most deep networks use in their hidden layers today.
answers:
  - kind: word
    word: ReLU
rubric:
  - marks: 1
    text: ReLU (the rectified linear unit).
"""

SPEC = "course: Deep Learning\nmax_marks: 1\nsections:\n  - questions: [best-activation]\n"


def _wheel(folder: Path) -> Path:
    # A wheel is a zip with a RECORD of every file's hash: what pip installs from.
    path = folder / "qbgen_word-0.1-py3-none-any.whl"
    record = []
    with zipfile.ZipFile(path, "w") as z:
        for name, text in FILES.items():
            data = text.lstrip("\n").encode()
            z.writestr(name, data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            record.append(f"{name},sha256={digest},{len(data)}")
        record.append("qbgen_word-0.1.dist-info/RECORD,,")
        z.writestr("qbgen_word-0.1.dist-info/RECORD", "\n".join(record) + "\n")
    return path


@pytest.fixture(scope="module")
def plugin(tmp_path_factory):
    root = tmp_path_factory.mktemp("plugin")
    target = root / "site"
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-index",
            "--no-deps",
            "--target",
            target,
            _wheel(root),
        ],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stderr
    bank = write_tree(root / "bank", {"fcnn/best-activation.yaml": QUESTION, "exams/w.yaml": SPEC})
    return {"PYTHONPATH": f"{target}:{ROOT}"}, bank


@needs_tex
def test_an_installed_kind_and_writer_work_through_every_stage(plugin, tmp_path):
    env, bank = plugin
    r = run_cli("validate", "--bank", bank, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    out = tmp_path / "out"
    r = run_cli("build", bank / "exams" / "w.yaml", "--bank", bank, "--variants", "2", "--out", out, env=env)
    assert r.returncode == 0, r.stderr
    with (out / "responses.csv").open() as f:
        assert next(csv.reader(f)) == ["id", "set", "1.word"]
    (out / "responses.csv").write_text("id,set,1.word\ns1,A,relu\ns2,B,tanh\ns3,A,\n", "utf-8")
    (out / "marks.csv").write_text("id,name,set,1\ns1,A,A,1\ns2,B,B,0\ns3,C,A,0\n", "utf-8")
    r = run_cli("grade", out, env=env)
    assert r.returncode == 0, r.stderr
    with (out / "responses-marked.csv").open() as f:
        verdicts = {row["id"]: (row["expected"], row["verdict"]) for row in csv.DictReader(f)}
    assert verdicts == {"s1": ("ReLU", "correct"), "s2": ("ReLU", "wrong"), "s3": ("ReLU", "blank")}
    # The plugin's export target, by name, beside the shipped ones.
    r = run_cli("export", bank / "exams" / "w.yaml", "--bank", bank, "--to", "wordlist", "--variants", "2",
                "--out", tmp_path / "x", env=env)  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "x" / "wordlist.csv").read_text().splitlines() == [
        "set,item,answer,rule",
        "A,1,word,exact",
        "B,1,word,exact",
    ]


def test_without_the_plugin_its_kind_and_target_are_unknown(plugin, tmp_path):
    _env, bank = plugin
    r = run_cli("validate", "--bank", bank)
    assert r.returncode == 1 and "does not match any of the expected tags" in r.stdout + r.stderr
    r = run_cli("export", "bank/exams/paper-b.yaml", "--to", "wordlist", "--out", tmp_path / "x")
    assert r.returncode == 2 and "no export target 'wordlist' (have: moodle, canvas, qti21)" in r.stderr
    assert not (tmp_path / "x").exists()
