#!/usr/bin/env python3
"""Time a roster export to an LMS and measure the peak memory of its whole process tree.

Usage: .venv/bin/python bench/bench_export.py [--students 2000] [--to moodle] [--spec PATH]

Runs `qbgen export SPEC --to TARGET --roster R` once, as a real process, for a roster
of N students (ids `2024CS0000`, ...), and prints, with the machine it ran on:

  time    wall-clock seconds of the whole CLI process;
  tree    the peak, sampled every 50 ms from /proc, of the resident memory of qbgen and
          every process under it (pandoc, pdflatex, the assembling workers) added up:
          RSS (an upper bound: forked workers share pages) and PSS (shared pages
          divided among their sharers, the tree's real share of memory);
  largest the largest single process's peak RSS (getrusage(RUSAGE_CHILDREN), which the
          kernel keeps exactly, so a spike between two samples is not missed);
  pandoc  how many pandoc runs there were (sampled: a run under 50 ms can be missed).

The target is a 2,000-student export to Moodle in under 500 MB (issue 23, item 5).
"""

from __future__ import annotations

import argparse
import csv
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from machine import describe  # bench/machine.py: the same line in every bench

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "bank" / "exams" / "paper-b.yaml"
TICK = 0.05  # seconds between samples of /proc (a sample reads all of it: a few ms)


def machine() -> str:
    pandoc = subprocess.run(["pandoc", "--version"], capture_output=True, text=True).stdout.split("\n")[0]
    return f"{describe()}, {pandoc}"


def _children() -> dict[int, list[int]]:
    # Every process's children, from each /proc/PID/stat's parent field.
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(ppid, []).append(int(entry))
    return tree


def _memory(pid: int) -> tuple[int, int, str]:
    # (RSS kB, PSS kB, command name) of one process, zeros if it has gone.
    try:
        rollup = Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()
        name = Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return 0, 0, ""
    fields = {line.split(":")[0]: line.split()[1] for line in rollup[1:] if ":" in line}
    return int(fields.get("Rss", 0)), int(fields.get("Pss", 0)), name


def sample(root: int) -> tuple[int, int, list[tuple[int, str]]]:
    """The process tree under `root` (itself included): its RSS and PSS sums, and its members."""
    tree = _children()
    todo, members = [root], []
    while todo:
        pid = todo.pop()
        members.append(pid)
        todo.extend(tree.get(pid, []))
    rss = pss = 0
    named = []
    for pid in members:
        r, p, name = _memory(pid)
        rss, pss = rss + r, pss + p
        named.append((pid, name))
    return rss, pss, named


def write_roster(path: Path, n: int) -> None:
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "name", "email"])
        for i in range(n):
            w.writerow([f"2024CS{i:04d}", f"Student {i}", f"s{i}@example.org"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--students", type=int, default=2000)
    ap.add_argument("--to", default="moodle", help="the export target (moodle, canvas, qti21)")
    ap.add_argument("--spec", type=Path, default=SPEC)
    a = ap.parse_args()
    print(f"machine: {machine()}")
    with tempfile.TemporaryDirectory() as tmp_:
        tmp = Path(tmp_)
        roster = tmp / "roster.csv"
        write_roster(roster, a.students)
        out = tmp / "out"
        cmd = [sys.executable, "-m", "qbgen", "export", str(a.spec), "--to", a.to]
        cmd += ["--roster", str(roster), "--out", str(out)]
        peak_rss = peak_pss = 0
        pandocs: set[int] = set()
        started = time.perf_counter()
        # Its output goes to a file: a pipe nobody reads while it runs would fill and stop it.
        with (tmp / "stderr.txt").open("w+") as err:
            proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=err)
            while proc.poll() is None:
                rss, pss, members = sample(proc.pid)
                peak_rss, peak_pss = max(peak_rss, rss), max(peak_pss, pss)
                pandocs.update(pid for pid, name in members if name == "pandoc")
                time.sleep(TICK)
            took = time.perf_counter() - started
            err.seek(0)
            stderr = err.read()
        largest = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # kB on Linux
        if proc.returncode != 0:
            print(f"export failed (exit {proc.returncode}) after {took:.1f} s: {stderr.strip()[-400:]}")
            print(f"tree peak RSS {peak_rss / 1024:.0f} MB, largest process {largest / 1024:.0f} MB")
            sys.exit(1)
        sizes = {p.name: p.stat().st_size for p in out.iterdir() if p.is_file()}
        biggest = max(sizes, key=lambda n: sizes[n])
        print(
            f"export:  {a.students} students to {a.to}, {took:.1f} s "
            f"({took / a.students * 1000:.0f} ms/student); {biggest} {sizes[biggest] / 1e6:.1f} MB"
        )
        print(
            f"memory:  tree peak RSS {peak_rss / 1024:.0f} MB (PSS {peak_pss / 1024:.0f} MB), "
            f"largest process {largest / 1024:.0f} MB (target: under 500 MB)"
        )
        print(f"pandoc:  {len(pandocs)} runs seen")
        shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    main()
