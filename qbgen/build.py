"""Stage 6: build a paper and its key: assemble, render, typeset, write atomically.

Room: the build folder and the output folder. Imports errors, models, bank, spec,
assemble, render, typeset. Everything is produced in a temporary folder beside the
output and moved into place only when every file is good, so a failed or interrupted
build leaves the previous good output untouched and no half-written file.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .assemble import assemble
from .bank import Bank
from .errors import InputError, TypesetError
from .models import Exam
from .render import render
from .spec import LoadedSpec
from .typeset import typeset_all

OUTPUTS = ("exam.tex", "key.tex", "exam.pdf", "key.pdf", "manifest.json")


@dataclass(frozen=True)
class BuildResult:
    """Where a build wrote its files, and what it put in them."""

    out: Path
    files: list[Path]
    manifest: dict[str, Any]


def manifest_of(exam: Exam) -> dict[str, Any]:
    """Return the manifest of one paper: every question's number, seed, params, answers."""
    return {
        "spec": exam.spec_name,
        "seed": exam.seed,
        "variant": exam.variant or None,
        "candidate": exam.candidate.model_dump() if exam.candidate else None,
        "original": exam.original,
        "max_marks": exam.max_marks,
        "questions": [
            {
                "number": q.number,
                "id": q.id,
                "marks": q.marks,
                "seed": q.seed,
                "params": q.params,
                "answers": q.answers,
            }
            for q in exam.questions()
        ],
    }


@contextmanager
def staging(out: Path) -> Iterator[Path]:
    """Yield a temporary folder beside `out`; it is removed whatever happens."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / f".qbgen-write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise InputError(f"cannot write the output folder: {exc.strerror}", file=out) from None
    tmp = Path(tempfile.mkdtemp(prefix=".qbgen-build-", dir=out))
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def publish(tmp: Path, out: Path, names: list[str]) -> list[Path]:
    """Move finished files from `tmp` into `out`, each with an atomic rename."""
    # The manifest goes last: a reader that sees it sees the files it describes.
    ordered = sorted(names, key=lambda n: n.endswith("manifest.json"))
    placed = []
    for name in ordered:
        dest = out / name
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp / name, dest)
        placed.append(dest)
    return placed


def keep_failed(tmp: Path, out: Path, exc: TypesetError) -> TypesetError:
    """Keep a failed build's .tex and .log under `out/failed/` and say so."""
    failed = out / "failed"
    shutil.rmtree(failed, ignore_errors=True)
    failed.mkdir(parents=True, exist_ok=True)
    for f in tmp.rglob("*"):
        if f.suffix in (".tex", ".log") and f.is_file():
            shutil.copy2(f, failed / f.name)
    name = Path(exc.file).name if exc.file else "exam.tex"
    return TypesetError(exc.message, file=failed / name, line=exc.line)


def write_pair(exam: Exam, folder: Path) -> list[Path]:
    """Render exam.tex and key.tex and the manifest into `folder`; return the .tex paths."""
    folder.mkdir(parents=True, exist_ok=True)
    texs = []
    for name, answers in (("exam", False), ("key", True)):
        path = folder / f"{name}.tex"
        path.write_text(render(exam, answers=answers), "utf-8")
        texs.append(path)
    (folder / "manifest.json").write_text(json.dumps(manifest_of(exam), indent=2) + "\n", "utf-8")
    return texs


def build(
    loaded: LoadedSpec,
    bank: Bank,
    out: Path,
    *,
    seed: int | None = None,
    original: bool = False,
) -> BuildResult:
    """Build exam.pdf, key.pdf, their .tex and manifest.json for one paper into `out`."""
    exam = assemble(loaded, bank, seed=seed, original=original)
    with staging(out) as tmp:
        texs = write_pair(exam, tmp)
        try:
            typeset_all(texs)
        except TypesetError as exc:
            raise keep_failed(tmp, out, exc) from None
        shutil.rmtree(out / "failed", ignore_errors=True)
        files = publish(tmp, out, list(OUTPUTS))
    return BuildResult(out, files, manifest_of(exam))
