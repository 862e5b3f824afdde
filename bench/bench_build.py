#!/usr/bin/env python3
"""Time `qbgen build` against bare pdflatex on the same .tex files; print ratios.

Usage: python bench/bench_build.py [--variants 20] [--roster 0] [--repeat 3]

Measures, on this machine, in one run:
  single   `qbgen build` (one exam + key, whole CLI process) against two bare
           `pdflatex` passes, one after the other, on the exam.tex and key.tex it wrote;
           --repeat interleaved rounds, the median of their ratios.
  variants `qbgen build --variants K` against one bare `pdflatex` pass on each of
           the 2K .tex files it wrote, one after the other.
  roster   `qbgen build --roster` of N students (papers, exams.pdf, the model key, the
           crib, the sheets) against one bare pdflatex pass on each student's exam.tex:
           time, ratio and peak memory (RSS of the
           qbgen process and, separately, of its largest pdflatex child).
Bare runs use the same flags qbgen uses (nonstopmode, halt-on-error, no shell escape).
The best of --repeat runs is reported for every timing. qbgen runs as an installed copy
does, with Python's compiled modules kept (PYTHONDONTWRITEBYTECODE, if the shell sets it,
is dropped for qbgen's runs: pip compiles them at install), and its caches warm (the first
build fills them: the format, the bank's index, the fonts' coverage).
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "bank" / "exams" / "paper-b.yaml"


# As installed, on the shipped bank: compiled modules kept, no QBGEN_BANK of the shell's.
ENV = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "QBGEN_BANK")}


def run(cmd: list[str], cwd: Path | None = None) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, env=ENV, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t


def qbgen(*args: str) -> float:
    return run([sys.executable, "-m", "qbgen", "build", str(SPEC), *args])


def bare(tex_files: list[Path], scratch: Path) -> float:
    # Copy each .tex into its own folder so no run sees another's aux files.
    total = 0.0
    for i, tex in enumerate(tex_files):
        d = scratch / f"bare{i}"
        d.mkdir(parents=True, exist_ok=True)
        shutil.copy(tex, d / tex.name)
        total += run(
            ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "-no-shell-escape", tex.name],
            cwd=d,
        )
    return total


def best(fn, repeat: int) -> float:
    return min(fn() for _ in range(repeat))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--variants", type=int, default=20)
    ap.add_argument("--roster", type=int, nargs="*", default=[])
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(subprocess.run(["pdflatex", "--version"], capture_output=True, text=True).stdout.splitlines()[0])
    with tempfile.TemporaryDirectory() as tmp_:
        tmp = Path(tmp_)
        qbgen("--out", str(tmp / "warm"))  # the first build dumps the cached preamble format
        # Interleaved rounds (qbgen, then the bare pair), so a noisy machine slows both
        # alike; the median of the rounds' ratios is the figure, the best times beside it.
        rounds = []
        for _ in range(a.repeat):
            one = qbgen("--seed", "1", "--out", str(tmp / "one"))
            pair = bare([tmp / "one" / "exam.tex", tmp / "one" / "key.tex"], tmp / "b1")
            rounds.append((one, pair))
        ratio = statistics.median(o / p for o, p in rounds)
        print(
            f"single:   qbgen {min(o for o, _ in rounds):.2f} s, bare pdflatex x2 "
            f"{min(p for _, p in rounds):.2f} s (best of {a.repeat}), "
            f"median ratio {ratio:.2f} (target <= 0.8)"
        )
        if a.variants:
            k = a.variants
            many = best(lambda: qbgen("--variants", str(k), "--out", str(tmp / "var")), a.repeat)
            texs = sorted((tmp / "var").glob("*/*.tex"))
            assert len(texs) == 2 * k, len(texs)
            serial = bare(texs, tmp / "b2")
            print(
                f"variants: qbgen --variants {k} {many:.2f} s, bare pdflatex x{2 * k} {serial:.2f} s, "
                f"ratio {many / serial:.3f} (target <= 0.25)"
            )
        for n in a.roster:
            roster = tmp / f"roster{n}.csv"
            with roster.open("w", newline="") as fh:
                w = csv.writer(fh)
                w.writerow(["id", "name", "email"])
                for i in range(n):
                    w.writerow([f"2024CS{i:04d}", f"Student {i}", f"s{i}@example.org"])
            t = time.perf_counter()
            proc = subprocess.run(
                ["/usr/bin/time", "-f", "%M", sys.executable, "-m", "qbgen", "build", str(SPEC),
                 "--roster", str(roster), "--out", str(tmp / f"r{n}")],
                env=ENV, capture_output=True, text=True, check=True,
            )  # fmt: skip
            took = time.perf_counter() - t
            rss_mb = int(proc.stderr.strip().splitlines()[-1]) / 1024
            child_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
            # The yardstick: one bare pdflatex pass over each student's exam.tex.
            exams = sorted((tmp / f"r{n}").glob("*/exam.tex"))
            assert len(exams) == n, len(exams)
            serial = bare(exams, tmp / f"b{n}")
            print(
                f"roster:   {n} students {took:.1f} s ({took / n * 1000:.0f} ms/student), "
                f"bare pdflatex x{n} (exams) {serial:.1f} s, ratio {took / serial:.2f} (target <= 0.15); "
                f"qbgen peak RSS {rss_mb:.0f} MB, largest child so far {child_mb:.0f} MB"
            )


if __name__ == "__main__":
    main()
