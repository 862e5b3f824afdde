"""`qbgen scan` (issue 24, item 3) on scans made as a copier makes them from the build's
own PDFs (tests/scanfaults.py): skewed, some upside down, rescaled, blurred, noisy,
JPEG'd, shuffled across students, one page missing, one twice, a blank sheet and a page
of another build. Every readable page is placed exactly; the rest are listed.
"""

from __future__ import annotations

import csv
import random

import numpy as np
import pytest
from PIL import Image

from . import scanfaults
from .conftest import BANK, cli, needs_tex

ROSTER = "id,name\n21CS01,Asha Rao\n21CS02,Meera Iyer\n21CS03,Arjun Singh\n21CS04,Kavya Nair\n"


def _rows(path):
    with path.open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def builds(tmp_path_factory):
    root = tmp_path_factory.mktemp("scan")
    (root / "class.csv").write_text(ROSTER, "utf-8")
    quiz = root / "quiz"
    r = cli(
        "build", BANK / "exams" / "quiz.yaml", "--roster", root / "class.csv", "--on-paper", "--out", quiz
    )
    assert r.returncode == 0, r.stderr
    other = root / "other"
    r = cli("build", BANK / "exams" / "paper-b.yaml", "--on-paper", "--seed", "99", "--out", other)
    assert r.returncode == 0, r.stderr
    return root, quiz, other


@needs_tex
def test_scan_places_every_readable_page_and_lists_the_rest(builds, tmp_path):
    root, quiz, other = builds
    sheets = scanfaults.scans(quiz, seed=3, dpis=(200, 150, 300))
    rng = random.Random(5)
    dropped = sheets.pop(rng.randrange(len(sheets)))
    twice = rng.choice(sheets)
    foreign = scanfaults.scans(other, seed=4)[1]
    pile = sheets + [
        scanfaults.Sheet(twice.image.copy(), "twice", twice.page),
        scanfaults.Sheet(scanfaults.blank(), "blank", 0),
        scanfaults.Sheet(foreign.image, "foreign", 0),
    ]
    rng.shuffle(pile)
    # Most pages in one scanned PDF, a few as separate JPEG files, as a phone or a feeder gives them.
    pdf = scanfaults.save_pdf([s.image for s in pile[:-3]], tmp_path / "batch.pdf")
    files = [pdf]
    truth = {(str(pdf), n): s for n, s in enumerate(pile[:-3], 1)}
    for i, s in enumerate(pile[-3:]):
        path = tmp_path / f"phone-{i}.jpg"
        s.image.save(path, "JPEG", quality=85)
        files.append(path)
        truth[(str(path), 1)] = s
    r = cli("scan", quiz, *files)
    assert r.returncode == 0, r.stderr
    rows = _rows(quiz / "scans" / "pages.csv")
    assert len(rows) == len(pile)
    placed = set()
    for row in rows:
        s = truth[(row["file"], int(row["page"]))]
        if s.paper in ("blank", "foreign"):
            assert row["status"] == {"blank": "no code", "foreign": "another build"}[s.paper], row
            continue
        if s.paper == "twice" or (row["status"] == "duplicate"):
            assert row["status"] in ("placed", "duplicate")
        if row["status"] == "placed":
            key = (row["student"], int(row["paper_page"]))
            want = (twice.paper, twice.page) if s.paper == "twice" else (s.paper, s.page)
            assert key == want, row
            assert key not in placed
            placed.add(key)
            assert row["rotation"] == ("180" if s.turned else "0"), row
    # every page but the dropped one is placed once; the copy is the duplicate
    expected = {(s.paper, s.page) for s in sheets}
    assert placed == expected
    assert sum(r["status"] == "duplicate" for r in rows) == 1
    missing = [(m["student"], int(m["page"])) for m in _rows(quiz / "scans" / "missing.csv")]
    assert missing == [(dropped.paper, dropped.page)]
    assert f"missing: {dropped.paper}, page {dropped.page}" in r.stderr
    # Every room of every placed page is cut out, straight, with the student's writing in it.
    papers = scanfaults.papers(quiz)
    for code, page in placed:
        folder = quiz / "scans" / code
        assert (folder / f"page-{page}.png").is_file()
        for region in papers[code][1]["pages"][page - 1]["regions"]:
            crop = np.asarray(Image.open(folder / f"{region['item']}.png"))
            assert crop.shape[1] > crop.shape[0] > 40
            assert (crop < 130).mean() > 0.002, (code, page, region["item"])  # the scribble
    thumbs = list((quiz / "scans" / "unplaced").glob("*.png"))
    assert len(thumbs) == 3  # the duplicate, the blank sheet, the other build's page

    # A late script: the missing page, scanned on its own, joins what is there.
    late = tmp_path / "late.png"
    dropped.image.save(late)
    r = cli("scan", quiz, late)
    assert r.returncode == 0, r.stderr
    rows = _rows(quiz / "scans" / "pages.csv")
    again = {(r["student"], int(r["paper_page"])) for r in rows if r["status"] == "placed"}
    assert again == expected | {(dropped.paper, dropped.page)}
    assert _rows(quiz / "scans" / "missing.csv") == []
    assert (quiz / "scans" / twice.paper / f"page-{twice.page}.png").is_file()  # earlier files kept


@needs_tex
def test_a_page_without_its_code_is_placed_by_hand(builds, tmp_path):
    _root, quiz, _other = builds
    sheet = scanfaults.scans(quiz, seed=8)[2]  # the first student's third page
    image = sheet.image.copy()
    if sheet.turned:
        image = image.rotate(180)
    # The QR code torn off: white over the lower left of the page, the corner marks kept.
    w, h = image.size
    image.paste(255, (int(0.1 * w), int(0.88 * h), int(0.3 * w), int(0.975 * h)))
    path = tmp_path / "torn.png"
    image.save(path)
    out = tmp_path / "copy"
    import shutil

    shutil.copytree(quiz, out, ignore=shutil.ignore_patterns("scans"))
    r = cli("scan", out, path)
    assert r.returncode == 0 and "no code" in r.stderr
    r = cli("scan", out, path, "--assign", f"{path}:1={sheet.paper}:{sheet.page}")
    assert r.returncode == 0, r.stderr
    rows = [r for r in _rows(out / "scans" / "pages.csv") if r["status"] == "placed"]
    assert [(r["student"], r["paper_page"]) for r in rows] == [(sheet.paper, str(sheet.page))]


@pytest.mark.parametrize(
    "case, says",
    [
        ("not-a-build", "not a qbgen build (no manifest.json)"),
        ("not-on-paper", "this build has no answer-on-paper pages"),
        ("corrupt", "not a PDF it can read"),
        ("text", "not a scan qbgen reads"),
        ("broken-image", "not an image it can read"),
    ],
)
def test_what_scan_cannot_read_is_one_line_and_nothing_is_written(builds, tmp_path, case, says):
    _root, quiz, _other = builds
    build = quiz
    scan = tmp_path / "scan.pdf"
    scan.write_bytes(b"%PDF-1.4 not really")
    if case == "not-a-build":
        build = tmp_path / "empty"
        build.mkdir()
    elif case == "not-on-paper":
        build = tmp_path / "plain"
        assert cli("build", BANK / "exams" / "paper-b.yaml", "--out", build).returncode == 0
    elif case == "text":
        scan = tmp_path / "notes.txt"
        scan.write_text("page 1")
    elif case == "broken-image":
        scan = tmp_path / "page.png"
        scan.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 40)
    before = sorted(p.name for p in build.iterdir())
    r = cli("scan", build, scan)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.count("\n") == 1 and says in r.stderr
    assert sorted(p.name for p in build.iterdir()) == before


@needs_tex
def test_scan_reads_the_bubbles_and_never_guesses_a_doubtful_one(tmp_path):
    # paper B on paper for three students: its choices (2, 8b) print bubbles. One student
    # fills each choice's bubble; one fills two bubbles of the one-answer choice 2; one
    # marks it faintly. grade reads the sheet scan writes.
    roster = tmp_path / "class.csv"
    roster.write_text("id,name\n21CS01,Asha Rao\n21CS02,Meera Iyer\n21CS03,Arjun Singh\n", "utf-8")
    build = tmp_path / "b"
    r = cli("build", BANK / "exams" / "paper-b.yaml", "--roster", roster, "--on-paper", "--out", build)
    assert r.returncode == 0, r.stderr
    papers = scanfaults.papers(build)
    rng = random.Random(11)
    images, truth = [], {}
    for code, (pdf, manifest) in papers.items():
        for image, record in zip(scanfaults.render(pdf, 200), manifest["pages"], strict=True):
            bubbles = [b for b in record["bubbles"] if b["answer"] == "2.choice"]
            if code == "21CS02" and bubbles:
                for b in bubbles[:2]:
                    scanfaults.fill(image, record, b)
            elif code == "21CS03" and bubbles:
                scanfaults.fill(image, record, bubbles[1], shade=175)
            else:
                for answer, option in scanfaults.choose(image, record, rng).items():
                    truth[(code, answer)] = option
            images.append(scanfaults.copier(image, rng))
    pdf = scanfaults.save_pdf(images, tmp_path / "scans.pdf")
    r = cli("scan", build, pdf)
    assert r.returncode == 0, r.stderr
    report = {(row["student"], row["answer"]): row for row in _rows(build / "scans" / "bubbles.csv")}
    for key, option in truth.items():
        assert report[key]["status"] == "read" and report[key]["read"] == option, report[key]
    assert report[("21CS02", "2.choice")]["status"] == "several"
    assert report[("21CS03", "2.choice")]["status"] == "faint"
    sheet = {row["id"]: row for row in _rows(build / "scans" / "responses.csv")}
    assert set(sheet) == {"21CS01", "21CS02", "21CS03"}
    assert sheet["21CS01"]["2.choice"] == truth[("21CS01", "2.choice")]
    assert sheet["21CS02"]["2.choice"] == "" and sheet["21CS03"]["2.choice"] == ""  # not guessed
    # grade marks the read choices against each student's own key.
    rows = _rows(build / "marks.csv")
    with (build / "marks.csv").open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        for row in rows:
            writer.writerow({k: (v if k in ("id", "name") else "0") for k, v in row.items()})
    r = cli("grade", build, "--responses", build / "scans" / "responses.csv")
    assert r.returncode == 0, r.stderr
    marked = {(m["id"], m["item"]): m for m in _rows(build / "responses-marked.csv")}
    got = marked[("21CS01", "2.choice")]
    assert got["response"] == truth[("21CS01", "2.choice")]
    assert got["verdict"] == ("correct" if got["expected"] == got["response"] else "wrong")


@needs_tex
def test_two_scans_of_one_name_in_two_folders_keep_a_thumbnail_each(builds, tmp_path):
    _root, quiz, _other = builds
    out = tmp_path / "copy"
    import shutil

    shutil.copytree(quiz, out, ignore=shutil.ignore_patterns("scans"))
    files = []
    for folder in ("monday", "tuesday"):
        (tmp_path / folder).mkdir()
        scanfaults.blank().save(tmp_path / folder / "page1.png")
        files.append(tmp_path / folder / "page1.png")
    r = cli("scan", out, *files)
    assert r.returncode == 0, r.stderr
    assert len(list((out / "scans" / "unplaced").glob("page1.png-*.png"))) == 2
