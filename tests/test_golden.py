"""Golden files: the LaTeX and manifests of a few fixed builds, compared byte for byte.

A refactor keeps them identical. A change that means to alter the output refreshes
them, in a commit of its own that says why:

    QBGEN_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_golden.py

No pdflatex is needed: this compares what qbgen asks LaTeX to typeset.
"""

from __future__ import annotations

import difflib
import json
import os
from pathlib import Path

import pytest

from qbgen.assemble import assemble
from qbgen.plan import preview_exam
from qbgen.render import render, render_document
from qbgen.spec import load_spec
from qbgen.writers import manifest_of

from .conftest import BANK

GOLDEN = Path(__file__).resolve().parent / "golden"
UPDATE = bool(os.environ.get("QBGEN_UPDATE_GOLDEN"))


def _compare(name: str, text: str) -> None:
    path = GOLDEN / name
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, "utf-8")
        return
    assert path.is_file(), f"no golden file {name}; refresh with QBGEN_UPDATE_GOLDEN=1"
    want = path.read_text("utf-8")
    if text != want:
        diff = "".join(
            list(
                difflib.unified_diff(
                    want.splitlines(True), text.splitlines(True), f"golden/{name}", "now", n=2
                )
            )[:80]
        )
        pytest.fail(f"{name} differs from its golden file:\n{diff}")


def _settled(value):
    # Numbers to 12 significant figures: NumPy releases differ in the last bit of exp
    # (numpy 2.4's softmax is not 2.3's), which is not a change of qbgen's.
    if isinstance(value, float):
        return float(f"{value:.12g}")
    if isinstance(value, dict):
        return {k: _settled(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_settled(v) for v in value]
    return value


def _manifest(exam) -> str:
    return json.dumps(_settled(manifest_of(exam)), indent=2, sort_keys=True) + "\n"


CASES = {
    # name: (spec, assemble options)
    "paper-a-original": ("paper-a", {"original": True}),
    "paper-b-seed2024": ("paper-b", {"seed": 2024}),
    "quiz-set-B": ("quiz", {"variant": "B"}),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_paper_and_key_are_unchanged(bank, name):
    spec, options = CASES[name]
    exam = assemble(load_spec(BANK / "exams" / f"{spec}.yaml", bank), bank, **options)
    _compare(f"{name}/exam.tex", render(exam, answers=False))
    _compare(f"{name}/key.tex", render(exam, answers=True))
    _compare(f"{name}/manifest.json", _manifest(exam))


def test_many_papers_document_is_unchanged(bank):
    # The document a variants build typesets: papers then keys, pictures shared.
    loaded = load_spec(BANK / "exams" / "paper-b.yaml", bank)
    exams = [assemble(loaded, bank, seed=2024, variant=v) for v in ("A", "B")]
    units = [(e, False) for e in exams] + [(e, True) for e in exams]
    _compare("paper-b-sets-AB/document.tex", render_document(units))


@pytest.mark.parametrize(("ref", "seed"), [("paper-b:1", 3), ("linear-network-boundary", None)])
def test_preview_is_unchanged(bank, ref, seed):
    exam = preview_exam(bank, ref, seed)
    _compare(f"preview-{exam.questions()[0].id}-{seed}/preview.tex", render(exam, answers=True))
