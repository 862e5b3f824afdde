#!/usr/bin/env python3
"""Mark a synthetic class in the browser: time per marked answer in `qbgen mark`.

Usage: python bench/bench_mark.py [--students 30]

Builds a two-question on-paper test for N students, scans it as a copier would
(tests/scanfaults.py), starts `qbgen mark` in a process of its own and drives Debian's
Chromium (Playwright, headless) through one part for every student, keyboard only: a
rubric line (`1`), then the next student (`j`). Reports, in milliseconds, the median
and 95th percentile of (a) a change's server round trip as the page measures it (the
fetch and its JSON answer: window.qbgenTimes), (b) the next student's page, from the
key press until the page is ready, and (c) a whole answer, from the first key press
to the next student's page ready.
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from machine import describe  # bench/machine.py: the same line in every bench

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests import scanfaults  # noqa: E402  (the test's copier, not a second one)

SPEC = """institute: Indian Institute of Technology Jammu
course: Deep Learning
title: Class test
duration: 30 mins
max_marks: 9
style: iitjammu-b
seed: 11
sections:
  - questions:
      - paper-b:1
      - paper-b:8a
"""


def _pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def main() -> None:
    from playwright.sync_api import sync_playwright

    ap = argparse.ArgumentParser()
    ap.add_argument("--students", type=int, default=30)
    args = ap.parse_args()
    qbgen = [sys.executable, "-m", "qbgen"]
    print(describe())
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "t.yaml").write_text(SPEC)
        rows = "".join(f"S{i:03d},Student {i}\n" for i in range(args.students))
        (root / "class.csv").write_text("id,name\n" + rows)
        build = root / "b"
        subprocess.run(
            [*qbgen, "build", str(root / "t.yaml"), "--roster", str(root / "class.csv"), "--on-paper"]
            + ["--out", str(build)],
            check=True,
            capture_output=True,
        )
        sheets = scanfaults.scans(build, seed=1, dpis=(150,))
        pdf = scanfaults.save_pdf([s.image for s in sheets], root / "scan.pdf", dpi=150)
        subprocess.run([*qbgen, "scan", str(build), str(pdf)], check=True, capture_output=True)
        server = subprocess.Popen(
            [*qbgen, "mark", str(build), "--no-browser"], stderr=subprocess.PIPE, text=True
        )
        try:
            assert server.stderr is not None
            url = ""
            while not url:
                line = server.stderr.readline()
                if not line:
                    raise SystemExit("the server stopped")
                m = re.search(r"http://\S+", line)
                url = m.group(0) if m else ""
            base = url.split("/?")[0]
            trips: list[float] = []
            pages: list[float] = []
            answers: list[float] = []
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=shutil.which("chromium"))
                page = browser.new_page()
                page.goto(url)
                page.goto(base + "/u/1/0")
                page.wait_for_selector("body[data-ready=yes]")
                for n in range(args.students):
                    started = time.perf_counter()
                    page.keyboard.press("1")
                    page.wait_for_function("Number(document.body.dataset.saved || 0) > 0")
                    trips += page.evaluate("window.qbgenTimes")
                    if n + 1 == args.students:
                        break
                    turned = time.perf_counter()
                    page.keyboard.press("j")
                    page.wait_for_function(f"document.body.dataset.script === '{n + 1}'")
                    page.wait_for_selector("body[data-ready=yes]")
                    done = time.perf_counter()
                    pages.append(1000 * (done - turned))
                    answers.append(1000 * (done - started))
                browser.close()
        finally:
            server.terminate()
            server.wait()
    for name, values in (
        ("change round trip (fetch + JSON)", trips),
        ("next student's page", pages),
        ("one marked answer (key to next page ready)", answers),
    ):
        print(
            f"{name}: median {statistics.median(values):.1f} ms, "
            f"95th percentile {_pct(values, 0.95):.1f} ms ({len(values)} samples)"
        )


if __name__ == "__main__":
    main()
