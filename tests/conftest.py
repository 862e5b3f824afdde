"""Shared fixtures: the shipped bank, the real CLI in a subprocess, PDFs read back."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from qbgen.bank import load_bank

ROOT = Path(__file__).resolve().parents[1]
BANK = ROOT / "bank"


@pytest.fixture(scope="session")
def bank():
    return load_bank(BANK)


def run_cli(*args, cwd=None, env=None, timeout=300, input=None):
    """Run `python -m qbgen ARGS` for real; return the CompletedProcess (text)."""
    full_env = dict(os.environ)
    full_env.pop("QBGEN_BANK", None)
    if env:
        full_env.update(env)
    return subprocess.run(
        [sys.executable, "-m", "qbgen", *map(str, args)],
        cwd=cwd or ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        input=input,
    )


def cli(*args, env=None):
    """Run `qbgen ARGS` in this process (no interpreter start); return (exit code, stdout, stderr).

    For tests where a real process is not the point: kills, signals and locks use `run_cli`.
    """
    import contextlib
    import io
    from types import SimpleNamespace

    from qbgen import cli as cli_module
    from qbgen.settings import settings

    saved_env, saved_argv = dict(os.environ), sys.argv
    os.environ.pop("QBGEN_BANK", None)
    os.environ.update(env or {})
    settings.cache_clear()
    out, err = io.StringIO(), io.StringIO()
    sys.argv = ["qbgen", *map(str, args)]
    code = 0
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            cli_module.main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        sys.argv = saved_argv
        os.environ.clear()
        os.environ.update(saved_env)
        settings.cache_clear()
    return SimpleNamespace(returncode=code, stdout=out.getvalue(), stderr=err.getvalue())


def pdf_text(path: Path, layout: bool = False) -> str:
    args = ["pdftotext"] + (["-layout"] if layout else []) + [str(path), "-"]
    return subprocess.run(args, capture_output=True, text=True, check=True).stdout


def write_tree(root: Path, files: dict[str, str]) -> Path:
    """Write {relative path: text} under root (text dedented); return root."""
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), "utf-8")
    return root


def copy_bank(dest: Path, ids: list[str] | None = None) -> Path:
    """Copy the shipped bank (or only the named questions, with their generators)."""
    if ids is None:
        shutil.copytree(BANK, dest)
        return dest
    b = load_bank(BANK)
    for qid in ids:
        bq = b.get(qid)
        rel = bq.path.relative_to(BANK)
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(bq.path, dest / rel)
        if bq.generator:
            shutil.copy2(bq.generator.path, dest / rel.parent / bq.generator.path.name)
    (dest / "exams").mkdir(exist_ok=True)
    return dest


needs_tex = pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex not installed")
