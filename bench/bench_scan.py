#!/usr/bin/env python3
"""Scan a synthetic class: pages a minute and peak memory of `qbgen scan`.

Usage: python bench/bench_scan.py [--students 30] [--dpi 200] [--jobs N]

Builds the quiz on paper for N students, makes their scans as a copier would (every
page rendered at --dpi, answers written in, a few degrees of skew, some pages upside
down, blur, noise, JPEG; tests/scanfaults.py) into one PDF, then runs `qbgen scan` in a
process of its own and reports: pages, seconds, pages a minute, and the peak resident
memory of the scan (the largest of its processes: the parent and each worker). Run it
twice with different --students to see that memory stays flat in the number of pages.
"""

from __future__ import annotations

import argparse
import random
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

from machine import describe  # bench/machine.py: the same line in every bench

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests import scanfaults  # noqa: E402  (the test's copier, not a second one)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--students", type=int, default=30)
    ap.add_argument("--dpi", type=int, default=200)
    ap.add_argument("--jobs", type=int, default=None)
    args = ap.parse_args()
    qbgen = [sys.executable, "-m", "qbgen"]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        roster = root / "class.csv"
        roster.write_text("id,name\n" + "".join(f"s{i:03d},Student {i}\n" for i in range(args.students)))
        build = root / "quiz"
        quiz = str(ROOT / "bank" / "exams" / "quiz.yaml")
        subprocess.run(
            [*qbgen, "build", quiz, "--roster", str(roster), "--on-paper", "--out", str(build)],
            check=True,
            capture_output=True,
            cwd=ROOT,
        )
        sheets = scanfaults.scans(build, seed=1, dpis=(args.dpi,))
        random.Random(2).shuffle(sheets)
        pdf = scanfaults.save_pdf([s.image for s in sheets], root / "scans.pdf", dpi=args.dpi)
        del sheets
        jobs = ["--jobs", str(args.jobs)] if args.jobs else []
        # The scan in a process of its own, measured by a small parent: its peak RSS is
        # the scan's (ru_maxrss of children is the largest of them, workers included).
        probe = (
            "import resource, subprocess, sys, time;"
            "t = time.perf_counter();"
            "r = subprocess.run(sys.argv[1:], capture_output=True, text=True);"
            "dt = time.perf_counter() - t;"
            "print(r.returncode, dt, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss);"
            "print(r.stderr.strip().splitlines()[-1] if r.stderr.strip() else '', file=sys.stderr)"
        )
        out = subprocess.run(
            [sys.executable, "-c", probe, *qbgen, "scan", str(build), str(pdf), *jobs],
            capture_output=True, text=True, cwd=ROOT,
        )  # fmt: skip
        code, seconds, rss_kb = out.stdout.split()
        pages = sum(
            1 for line in (build / "scans" / "pages.csv").read_text().splitlines()[1:] if ",placed" in line
        )
    print(f"machine: {describe()}")
    print(f"scan of {args.students} students, {pages} pages placed at {args.dpi} dpi (exit {code}):")
    print(f"  {float(seconds):.1f} s, {60 * pages / float(seconds):.0f} pages a minute")
    print(f"  peak memory: {int(rss_kb) / 1024:.0f} MB (the largest process of the scan)")
    print(f"  {out.stderr.strip()}")
    self_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  (this script, making the scans: {self_rss:.0f} MB)")


if __name__ == "__main__":
    main()
