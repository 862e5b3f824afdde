#!/usr/bin/env python3
"""Time how fast qbgen starts: `qbgen --help` and `qbgen list`, whole processes.

Usage: python bench/bench_start.py [--repeat 7]

Each command runs --repeat times as `python -m qbgen ...` (the interpreter the
script runs under) after one warm-up run that fills the bytecode caches; the median
wall time of each is printed with the machine, against the goal (0.3 s each). Also
prints the import time of `qbgen.cli` alone (median, in a fresh interpreter).
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

from bench_build import run
from machine import describe  # bench/machine.py: the same line in every bench

ROOT = Path(__file__).resolve().parents[1]
GOAL = 0.3  # seconds, issue 26 item 8

COMMANDS = {
    "qbgen --help": ["-m", "qbgen", "--help"],
    "qbgen list": ["-m", "qbgen", "list"],
    "import qbgen.cli": ["-c", "import qbgen.cli"],
}


def once(args: list[str]) -> float:
    return run([sys.executable, *args], ROOT)  # as installed, on the shipped bank


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=7, help="runs of each command (the median is shown)")
    args = ap.parse_args()
    print(f"machine: {describe()}")
    for name, argv in COMMANDS.items():
        once(argv)  # warm-up: bytecode caches, the file cache
        times = [once(argv) for _ in range(max(args.repeat, 1))]
        median = statistics.median(times)
        verdict = (
            "" if name.startswith("import") else ("  ok" if median < GOAL else f"  over the {GOAL} s goal")
        )
        print(
            f"{name:<18} median {median:.3f} s  (min {min(times):.3f}, max {max(times):.3f},"
            f" n={len(times)}){verdict}"
        )


if __name__ == "__main__":
    main()
