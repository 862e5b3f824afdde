"""`qbgen mark` and `qbgen return` (issue 25): a 30-student on-paper test, scanned as a
copier scans it (tests/scanfaults.py), marked in a real headless Chromium against the real
app (uvicorn in its own process, a real SQLite file), exported to marks.csv, graded, and
handed back as marked scripts read again with pdftotext.
"""

from __future__ import annotations

import csv
import json
import os
import re
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from . import scanfaults
from .conftest import ROOT, cli, needs_tex, pdf_text, write_tree
from .test_site import CHROMIUM, needs_browser, playwright

STUDENTS = 30
SPEC = """\
    institute: Indian Institute of Technology Jammu
    course: Deep Learning
    title: Class test
    duration: 30 mins
    max_marks: 9
    style: iitjammu-b
    seed: 11
    mark_step: 0.5
    sections:
      - questions:
          - paper-b:1
          - paper-b:8a
    """


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def scanned(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("mark")
    people = ["id,name"] + [f"24DL{i:02d},Student {i}" for i in range(1, STUDENTS + 1)]
    people[3] = '24DL03,"<img src=x onerror=alert(1)> =HYPERLINK(""x"")"'  # untrusted text
    write_tree(root, {"small.yaml": SPEC, "class.csv": "\n".join(people) + "\n"})
    build = root / "b"
    r = cli("build", root / "small.yaml", "--roster", root / "class.csv", "--on-paper", "--out", build)
    assert r.returncode == 0, r.stderr
    sheets = scanfaults.scans(build, seed=8, dpis=(150,))
    pdf = scanfaults.save_pdf([s.image for s in sheets], root / "scan.pdf", dpi=150)
    r = cli("scan", build, pdf)
    assert r.returncode == 0, r.stderr
    return build


class Server:
    """`qbgen mark BUILD` in its own process: its address, token and process."""

    def __init__(self, build: Path) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "qbgen", "mark", str(build), "--no-browser"],
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        assert self.proc.stderr is not None
        self.said = []
        while True:
            line = self.proc.stderr.readline()
            assert line, f"the server stopped: {''.join(self.said)}"
            self.said.append(line)
            m = re.search(r"(http://127\.0\.0\.1:(\d+))/\?token=(\S+)", line)
            if m:
                self.base, self.port, self.token = m.group(1), int(m.group(2)), m.group(3)
                break
        self.url = f"{self.base}/?token={self.token}"

    def stop(self, sig: int = signal.SIGTERM) -> None:
        self.proc.send_signal(sig)
        self.proc.wait(timeout=20)

    def request(
        self,
        path: str,
        data: bytes | None = None,
        *,
        cookie: bool = True,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, str]:
        h = {"Cookie": f"qbgen_mark={self.token}"} if cookie else {}
        h.update(headers or {})
        req = urllib.request.Request(self.base + path, data=data, headers=h)
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return resp.status, resp.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode("utf-8", "replace")

    def post(self, path: str, **fields: str) -> tuple[int, str]:
        return self.request(
            path,
            urllib.parse.urlencode(fields).encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )


@pytest.fixture()
def server(scanned):
    s = Server(scanned)
    yield s
    if s.proc.poll() is None:
        s.stop()


def _units(server: Server) -> list[tuple[str, str]]:
    status, html = server.request("/")
    assert status == 200
    return re.findall(r'<a href="(/u/\d+)/0">([^<]+)</a>', html)


def _state(server: Server, unit: str, n: int) -> dict:
    status, body = server.request(f"{unit}/{n}/state")
    assert status == 200, body
    return json.loads(body)


@pytest.fixture(scope="module")
def browser():
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM)
        yield b
        b.close()


def _open(browser, server: Server, grader: str):
    context = browser.new_context(viewport={"width": 1300, "height": 900})
    # No network beyond the app: a page that asks for anything else fails the test.
    asked: list[str] = []
    context.route(
        "**/*",
        lambda route: (
            route.continue_()
            if route.request.url.startswith(server.base)
            else (asked.append(route.request.url), route.abort())
        ),
    )
    page = context.new_page()
    page.goto(server.url)
    page.fill("#grader", grader)
    return context, page, asked


def _save(page, before: int) -> None:
    # Until the page shows the server's answer to the change after the first `before`.
    page.wait_for_function(f"Number(document.body.dataset.saved || 0) > {before}")


@needs_tex
@needs_browser
def test_mark_a_part_by_keyboard_export_grade_and_return(scanned, server, browser, tmp_path):
    units = _units(server)
    assert [label for _, label in units] == ["1a", "1b", "2a", "2b"]
    unit = units[1][0]  # 1b: three rubric lines
    context, page, asked = _open(browser, server, "Asha")
    page.goto(server.base + unit + "/0")
    page.wait_for_selector("body[data-ready=yes]")
    assert page.locator("img.crop").evaluate("i => i.complete && i.naturalWidth > 100")
    assert page.locator(".who").is_hidden()  # blind by default
    marks_given = {}
    lines = page.locator("button.line .marks").evaluate_all("els => els.map(e => Number(e.dataset.marks))")
    plans = [
        ("1",),
        ("1", "2"),
        ("1", "2", "3"),
        ("0",),
        ("a",),
        ("2",),
        ("3", "1"),
        ("m", "1.5"),
        ("2", "3"),
        ("a",),
    ]
    for n, keys in enumerate(plans):
        assert page.evaluate("document.body.dataset.script") == str(n)
        for key in keys:
            count = page.evaluate("window.qbgenTimes.length")
            if key == "m":
                page.keyboard.press("m")
                continue
            if re.fullmatch(r"\d\.\d", key):
                page.keyboard.type(key)
                page.keyboard.press("Enter")
            else:
                page.keyboard.press(key)
            _save(page, count)
        if keys == ("0",):
            want = 0.0
        elif keys == ("a",):
            want = 3.0
        elif keys[0] == "m":
            want = float(keys[1])
        else:
            want = min(3.0, sum(lines[int(k) - 1] for k in keys))
        assert page.inner_text("#mark") == f"{want:g}"
        marks_given[n] = want
        page.keyboard.press("j")
        page.wait_for_function(f"document.body.dataset.script === '{n + 1}'")
        page.wait_for_selector("body[data-ready=yes]")
    assert page.inner_text("#done") == str(len(plans))
    # A mark over the item's maximum, or off the mark step, is refused in the page ...
    count = page.evaluate("window.qbgenTimes.length")
    page.keyboard.press("m")
    page.keyboard.type("3.5")
    page.keyboard.press("Enter")
    assert "more than the item's 3 marks" in page.inner_text("#status")
    page.fill("#free", "1.25")
    page.press("#free", "Enter")
    assert "not a whole number of steps of 0.5" in page.inner_text("#status")
    assert page.evaluate("window.qbgenTimes.length") == count  # no request went
    # ... and by the server.
    assert server.post(f"{unit}/10/mark", mark="3.5")[0] == 422
    assert server.post(f"{unit}/10/mark", mark="1.25")[0] == 422
    page.screenshot(path=str(tmp_path / "marking.png"), full_page=True)

    # Reload: every mark is there.
    for n, want in marks_given.items():
        page.goto(f"{server.base}{unit}/{n}")
        assert page.inner_text("#mark") == f"{want:g}"
    assert not asked

    # Export from the page; grade totals are the marks given.
    page.goto(server.base + "/")
    page.click("#export")
    page.wait_for_function("document.getElementById('exported').textContent.length > 0")
    context.close()
    r = cli("grade", scanned)
    assert r.returncode == 0, r.stderr
    grades = _rows(scanned / "grades.csv")
    scripts = _scripts(server, unit)
    for n, want in marks_given.items():
        row = next(g for g in grades if g["id"] == scripts[n])
        assert float(row["1b"]) == want
        assert float(row["total"]) == want
    # The gradebook is there for the LMS, one row per student.
    assert len(_rows(scanned / "gradebook.csv")) == STUDENTS

    # Marked scripts back: each PDF holds its student's pages only, with grade's marks.
    r = cli("return", scanned)
    assert r.returncode == 0, r.stderr
    index = _rows(scanned / "returned" / "returned.csv")
    assert len(index) == STUDENTS
    pages = len(json.loads((scanned / "24DL01" / "manifest.json").read_text())["pages"])
    graded = {g["id"]: g for g in grades}
    for row in index:
        pdf = scanned / "returned" / row["file"]
        text = pdf_text(pdf)
        info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
        assert re.search(rf"Pages:\s+{pages + 1}\b", info)
        assert f"Total: {float(graded[row['id']]['total']):g} out of 9" in " ".join(text.split())
        for sid in graded:  # no other student's pages
            if sid != row["id"]:
                assert sid not in text
        mark = graded[row["id"]]["1b"]
        if mark:
            assert f"1b: {float(mark):g} / 3" in text
        assert float(row["total"]) == float(graded[row["id"]]["total"])


def _scripts(server: Server, unit: str) -> list[str]:
    # Each script's student, in the unit's order (names shown for the test).
    out = []
    n = 0
    while True:
        status, html = server.request(f"{unit}/{n}")
        if status != 200:
            return out
        out.append(re.search(r'<span class="who" hidden>(\S+) ', html).group(1))
        n += 1


@needs_tex
@needs_browser
def test_two_graders_at_once_and_a_rubric_edit(scanned, server, browser):
    units = _units(server)
    unit = units[0][0]  # 1a
    a, pa, _ = _open(browser, server, "A")
    b, pb, _ = _open(browser, server, "B")
    # Both on the same question, one from the start, one from the middle, keys pressed
    # alternately without waiting for the other.
    pa.goto(f"{server.base}{unit}/0")
    pb.goto(f"{server.base}{unit}/15")
    for page in (pa, pb):
        page.wait_for_selector("body[data-ready=yes]")
    for step in range(5):
        for page in (pa, pb):
            page.keyboard.press("1")
        for page in (pa, pb):
            _save(page, 0)
            page.keyboard.press("j")
        for page, start in ((pa, 0), (pb, 15)):
            page.wait_for_function(f"document.body.dataset.script === '{start + step + 1}'")
            page.wait_for_selector("body[data-ready=yes]")
    for n in list(range(5)) + list(range(15, 20)):
        assert _state(server, unit, n)["lines"] == [1], n
    # Line 1 is edited: every student marked with it is re-marked, and told how many.
    pa.goto(f"{server.base}{unit}/0")
    pa.wait_for_selector("body[data-ready=yes]")
    before = float(pa.inner_text("#mark"))
    pa.once("dialog", lambda d: d.accept("0.5"))
    pa.click('button.edit[data-line="1"]')
    pa.wait_for_function("document.getElementById('status').textContent.includes('re-marked')")
    assert "10 student(s) re-marked" in pa.inner_text("#status")
    assert before != 0.5
    for n in list(range(5)) + list(range(15, 20)):
        assert _state(server, unit, n)["mark"] == "0.5", n
    a.close()
    b.close()


@needs_tex
def test_many_writers_lose_nothing_and_a_killed_server_keeps_its_marks(scanned, server):
    unit = _units(server)[2][0]  # 2a
    errors: list[str] = []

    def mark(students: range) -> None:
        for n in students:
            status, body = server.post(f"{unit}/{n}/mark", mark="1", grader="t")
            if status != 200:
                errors.append(body)

    threads = [threading.Thread(target=mark, args=(range(k, 30, 3),)) for k in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert _state(server, unit, 0)["done"] == 30
    server.stop(signal.SIGKILL)  # no shutdown: the committed marks are on disk
    again = Server(scanned)
    try:
        for n in range(30):
            assert _state(again, unit, n)["mark"] == "1"
    finally:
        again.stop()


@needs_tex
def test_the_server_refuses_what_it_should(scanned, server):
    # No token, a wrong token, another host: refused.
    assert server.request("/", cookie=False)[0] == 403
    status, _ = server.request("/?token=nope", cookie=False)
    assert status == 403
    assert server.request("/", headers={"Host": "evil.example"})[0] == 403
    # Nothing outside the app's own files: no path of a request reaches the disk.
    for path in (
        "/assets/../manifest.json",
        "/assets/%2e%2e/manifest.json",
        "/assets/..%2fmanifest.json",
        "/assets/fonts/../../manifest.json",
        "/u/0/0/../../../manifest.json",
        "/u/0/..%2f..%2fmanifest.json/crop.png",
        "/u/0/-1/crop.png",
        "/u/99/0",
    ):
        status, body = server.request(path)
        assert status == 404, (path, status)
        assert "schema_version" not in body and "Traceback" not in body
    # Malformed form data: 4xx and one line, never a traceback.
    unit = _units(server)[0][0]
    for data, kind in (
        (b"--x\r\nContent-Disposition: form-data; name=\r\n\r\n", "multipart/form-data; boundary=x"),
        (b"line=%ZZ&&&", "application/x-www-form-urlencoded"),
        (b"line=abc", "application/x-www-form-urlencoded"),
        (b"line=99", "application/x-www-form-urlencoded"),
        (b"comment=" + b"x" * 5000, "application/x-www-form-urlencoded"),
    ):
        path = f"{unit}/0/comment" if data.startswith(b"comment") else f"{unit}/0/line"
        status, body = server.request(path, data, headers={"Content-Type": kind})
        assert 400 <= status < 500, (data[:20], status, body)
        assert body.startswith("error: ") and "Traceback" not in body
        assert body.count("\n") == 1
    # The untrusted name is text in the page.
    status, html = server.request(f"{unit}/2")
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html


@needs_tex
def test_marks_typed_into_the_sheet_come_in_and_stay(scanned):
    # A grader types a mark into marks.csv; the app shows it, and an export keeps it.
    sheet = scanned / "marks.csv"
    r = cli("mark", scanned, "--export")
    assert r.returncode == 0, r.stderr
    rows = list(csv.reader(sheet.open(encoding="utf-8")))
    header = rows[0]
    row = next(r for r in rows if r[0] == "24DL05")
    row[header.index("2b")] = "1.5"
    with sheet.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows(rows)
    server = Server(scanned)
    try:
        assert any("1 marks typed into marks.csv" in line for line in server.said)
        unit = dict((label, u) for u, label in _units(server))["2b"]
        n = _scripts(server, unit).index("24DL05")
        assert _state(server, unit, n)["mark"] == "1.5"
    finally:
        server.stop()
    r = cli("mark", scanned, "--export")
    assert r.returncode == 0, r.stderr
    again = {r["id"]: r for r in _rows(sheet)}
    assert again["24DL05"]["2b"] == "1.5"
    # A mark the scheme cannot give, typed into the sheet, is one line naming it.
    rows[rows.index(row)][header.index("2b")] = "2.5"
    with sheet.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows(rows)
    r = cli("mark", scanned, "--export")
    assert r.returncode == 2
    assert re.fullmatch(r"error: .*marks\.csv:\d+: 2b: 2\.5 is more than the item's 2 marks\n", r.stderr)
    row[header.index("2b")] = "1.5"
    with sheet.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows(rows)


@needs_tex
@needs_browser
def test_without_scans_a_table_per_question_for_a_build_of_sets(tmp_path, browser):
    # A build of sets has no roster: the grader writes the students into marks.csv,
    # then types marks from the paper scripts into one table per question.
    write_tree(tmp_path, {"small.yaml": SPEC})
    build = tmp_path / "sets"
    r = cli("build", tmp_path / "small.yaml", "--variants", "2", "--out", build)
    assert r.returncode == 0, r.stderr
    sheet = build / "marks.csv"
    rows = list(csv.reader(sheet.open(encoding="utf-8")))
    header = rows[0]
    assert header[:3] == ["id", "name", "set"]
    people = [["S1", "Ravi", "A"], ["S2", "Lata", "B"], ["S3", "Omar", "A"]]
    rows += [p + [""] * (len(header) - 3) for p in people]
    with sheet.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows(rows)
    server = Server(build)
    try:
        assert any("of 3 students" in line for line in server.said)
        context, page, asked = _open(browser, server, "T")
        page.goto(server.base + "/")
        page.click("text=all students in a table >> nth=1")  # 1b
        page.wait_for_selector("body[data-ready=yes]")
        boxes = page.locator("input.typed")
        assert boxes.count() == 3
        boxes.nth(0).fill("2.5")
        boxes.nth(0).press("Enter")
        _save(page, 0)
        boxes.nth(1).fill("7")
        boxes.nth(1).press("Enter")
        assert "more than the item's 3 marks" in page.locator(".why").nth(1).inner_text()
        boxes.nth(1).fill("1")
        boxes.nth(1).press("Enter")
        _save(page, 1)
        assert page.inner_text("#done") == "2"
        assert not asked
        context.close()
    finally:
        server.stop()
    r = cli("mark", build, "--export")
    assert r.returncode == 0, r.stderr
    got = {row["id"]: row for row in _rows(sheet)}
    assert (got["S1"]["1b"], got["S2"]["1b"], got["S3"]["1b"]) == ("2.5", "1", "")
    assert got["S2"]["set"] == "B"
    r = cli("grade", build)
    assert r.returncode == 0, r.stderr
    assert {g["id"]: g["total"] for g in _rows(build / "grades.csv")} == {"S1": "2.5", "S2": "1", "S3": "0"}


@needs_tex
def test_mark_and_return_bad_input_is_one_line(scanned, tmp_path):
    import socket

    r = cli("mark", tmp_path / "nothing", "--no-browser")
    assert r.returncode == 2 and re.fullmatch(r"error: .*nothing.*\n", r.stderr), r.stderr
    write_tree(tmp_path, {"s.yaml": SPEC})
    unscanned = tmp_path / "b"
    assert cli("build", tmp_path / "s.yaml", "--out", unscanned).returncode == 0
    r = cli("return", unscanned)
    assert (
        r.returncode == 2
        and r.stderr == f"error: {unscanned}: no scans here: run `qbgen scan` on this build first\n"
    )
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        r = cli("mark", scanned, "--port", str(port), "--no-browser")
    assert (
        r.returncode == 2
        and r.stderr == f"error: --port: cannot listen on port {port}: Address already in use\n"
    )
