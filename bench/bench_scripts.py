#!/usr/bin/env python3
"""Time a roster build all in Latin against one with a few names in other scripts; print ratios.

Usage: python bench/bench_scripts.py [--students 120] [--names hindi,vietnamese,tamil] [--repeat 2]

Builds the same spec for the same roster twice over, in interleaved rounds: once with
every name in Latin letters, once with the first students' names in the scripts --names
lists (of hindi, vietnamese, tamil, urdu, chinese), which pdflatex cannot set.
Each build is a whole `qbgen build` process under /usr/bin/time; the figures are its
wall time and peak memory (the largest resident set of the process and any child,
LuaLaTeX included), the best of --repeat rounds, and their ratios. The issue's goal:
time within 1.3 times and peak memory within 1.5 times the all-Latin build's.
"""

from __future__ import annotations

import argparse
import csv
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from machine import describe  # bench/machine.py: the same line in every bench

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "bank" / "exams" / "paper-b.yaml"
OTHER = {
    "hindi": "प्रिया शर्मा",
    "vietnamese": "Nguyễn Thị Minh Khai",
    "tamil": "கார்த்திக் சுப்ரமணியன்",
    "urdu": "عائشہ خان",
    "chinese": "王小明",
}


def roster(path: Path, students: int, others: list[str]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "name", "email"])
        for i in range(students):
            name = OTHER[others[i]] if i < len(others) else f"Student {i}"
            w.writerow([f"2024CS{i:04d}", name, f"s{i}@example.org"])
    return path


def build(roster_csv: Path, out: Path) -> tuple[float, float]:
    # (seconds, peak MB): GNU time's %M is the largest RSS of the process or a child.
    t = time.perf_counter()
    proc = subprocess.run(
        ["/usr/bin/time", "-f", "%M", sys.executable, "-m", "qbgen", "build", str(SPEC),
         "--roster", str(roster_csv), "--out", str(out)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    took = time.perf_counter() - t
    if proc.returncode != 0:
        sys.exit(f"build failed: {proc.stderr[-2000:]}")
    return took, int(proc.stderr.strip().splitlines()[-1]) / 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--students", type=int, default=120)
    ap.add_argument("--names", default="hindi,vietnamese,tamil")
    ap.add_argument("--repeat", type=int, default=2)
    a = ap.parse_args()
    print(f"machine: {describe()}")
    with tempfile.TemporaryDirectory() as tmp_:
        tmp = Path(tmp_)
        others = a.names.split(",")
        latin = roster(tmp / "latin.csv", a.students, [])
        mixed = roster(tmp / "mixed.csv", a.students, others)
        build(mixed, tmp / "warm")  # cached format, LuaLaTeX's font caches
        rounds = []
        for r in range(a.repeat):
            rounds.append((build(latin, tmp / f"l{r}"), build(mixed, tmp / f"m{r}")))
        lt, lm = min(x[0][0] for x in rounds), min(x[0][1] for x in rounds)
        mt, mm = min(x[1][0] for x in rounds), min(x[1][1] for x in rounds)
        print(f"all Latin:       {a.students} students {lt:.1f} s, peak {lm:.0f} MB (best of {a.repeat})")
        print(f"names in {a.names}: {a.students} students {mt:.1f} s, peak {mm:.0f} MB")
        print(f"ratios: time {mt / lt:.2f} (goal <= 1.3), peak memory {mm / lm:.2f} (goal <= 1.5)")


if __name__ == "__main__":
    main()
