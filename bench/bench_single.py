#!/usr/bin/env python3
"""Where one exam and key's time goes: each stage of `qbgen build` in process, with its wall time.

Usage: python bench/bench_single.py [--repeat 9]

Runs --repeat fresh interpreters (after one warm-up run that fills the bytecode caches,
the format, the bank's index and the fonts' coverage), each building paper B with a
fixed seed into a scratch folder as the CLI's build command does, and timing its stages
with perf_counter: the libraries qbgen needs (each imported on its own, in the order a
build first needs them), qbgen's own modules, the bank (its index), the spec with the
questions it names, drawing and rendering up to TeX, TeX (both documents, one a core),
and the rest (cutting, publishing). Prints the median of each stage, their sum, and the
whole `python -m qbgen build` process's median wall time beside bare pdflatex's two
passes (the yardstick of `bench_build.py`), so what is fixed by the stack and what is
qbgen's own can be read apart. Compiled modules are kept (PYTHONDONTWRITEBYTECODE is
dropped), as for an installed qbgen.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench_build import ENV, ROOT, SPEC, bare, run  # the same yardstick, run the same way
from machine import describe  # bench/machine.py: the same line in every bench

CHILD_ENV = {**ENV, "PYDANTIC_DISABLE_PLUGINS": "1"}  # as the program sets it for itself

# The child: one build, its stages timed. It prints one JSON object of stage -> seconds.
CHILD = r"""
import gc, json, sys, time
from pathlib import Path
gc.disable()  # as the program does while its modules import (cli._settled)
t = [("start", time.perf_counter())]
def mark(name): t.append((name, time.perf_counter()))
import typer; mark("import typer")
import numpy; mark("import numpy")
import pydantic.main, pydantic.types, pydantic.fields; mark("import pydantic")
import jinja2; mark("import jinja2")
import yaml; mark("import PyYAML")
import pylatex, pylatex.table; mark("import pylatex")
import qbgen.cli, qbgen.build; mark("import qbgen's modules")
gc.freeze(); gc.enable()
from qbgen.bank import load_bank
from qbgen.build import build
from qbgen.resources import bank_dirs
from qbgen.spec import load_spec
import qbgen.writers.latex as latex
bank = load_bank(bank_dirs(None)); mark("the bank (its index)")
loaded = load_spec(Path(sys.argv[1]), bank); mark("the spec and its questions")
typeset_all = latex.typeset_all
def timed(*a, **k):
    mark("draw, solve, check, render, write")
    out = typeset_all(*a, **k)
    mark("TeX (exam and key, one a core)")
    return out
latex.typeset_all = timed
build(loaded, bank, Path(sys.argv[2]), seed=1)
mark("cut, publish")
print(json.dumps([(b[0], b[1] - a[1]) for a, b in zip(t, t[1:])]))
"""


def child(out: Path) -> list[tuple[str, float]]:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(SPEC), str(out)],
        cwd=ROOT, env=CHILD_ENV, check=True, capture_output=True, text=True,
    )  # fmt: skip
    return [tuple(x) for x in json.loads(done.stdout.strip().splitlines()[-1])]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=9, help="fresh interpreters (the median is shown)")
    a = ap.parse_args()
    print(f"machine: {describe()}")
    with tempfile.TemporaryDirectory() as tmp_:
        tmp = Path(tmp_)
        child(tmp / "warm")  # fills the caches
        runs = [child(tmp / f"run{i}") for i in range(a.repeat)]
        names = [name for name, _ in runs[0]]
        for i, name in enumerate(names):
            print(f"  {name:<36} {statistics.median(r[i][1] for r in runs) * 1000:6.1f} ms")
        total = statistics.median(sum(s for _, s in r) for r in runs)
        print(f"  {'sum, in process':<36} {total * 1000:6.1f} ms")
        # The whole program against the yardstick, interleaved.
        cli = [sys.executable, "-m", "qbgen", "build", str(SPEC), "--seed", "1", "--out", str(tmp / "cli")]
        pair: list[float] = []
        whole: list[float] = []
        for i in range(a.repeat):
            whole.append(run(cli, ROOT))
            pair.append(bare([tmp / "cli" / "exam.tex", tmp / "cli" / "key.tex"], tmp / f"bare{i}"))
        print(
            f"  {'qbgen build, whole process':<36} {statistics.median(whole) * 1000:6.1f} ms; "
            f"bare pdflatex x2 {statistics.median(pair) * 1000:.1f} ms; "
            f"ratio {statistics.median(w / p for w, p in zip(whole, pair, strict=True)):.2f} (target <= 0.8)"
        )


if __name__ == "__main__":
    main()
