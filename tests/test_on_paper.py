"""Answers on paper (issue 24, item 1): room to answer after every part, a cover page with
name, roll number and the examiners' marks table; the key is the key as ever.

Read back from the typeset PDFs with pdftotext (and the rooms from the .tex the PDF
was made from: what LaTeX drew is looked at in the page images, not here).
"""

from __future__ import annotations

import json
import re

import pytest

from .conftest import BANK, cli, needs_tex, pdf_text, write_tree


def _pages(pdf):
    return pdf_text(pdf, layout=True).split("\f")


@needs_tex
def test_an_on_paper_paper_b_has_a_cover_rooms_and_the_same_key(tmp_path):
    spec = BANK / "exams" / "paper-b.yaml"
    plain, paper = tmp_path / "plain", tmp_path / "paper"
    assert cli("build", spec, "--out", plain).returncode == 0
    r = cli("build", spec, "--on-paper", "--out", paper)
    assert r.returncode == 0, r.stderr
    # The key ignores the answer space: the same source, byte for byte.
    assert (paper / "key.tex").read_bytes() == (plain / "key.tex").read_bytes()
    manifest = json.loads((paper / "manifest.json").read_text())
    cover = " ".join(_pages(paper / "exam.pdf")[0].split())
    assert "Name:" in cover and "Roll No.:" in cover and "For the examiners" in cover
    # The marks table: every printed question with its maximum, and the total.
    rows = re.findall(r"(\d+|Total) (\d+(?:\.\d+)?)", cover[cover.index("Question Maximum Marks") :])
    expected = [(q["number"], f"{q['marks']:g}") for q in manifest["questions"]]
    assert rows == expected + [("Total", f"{manifest['max_marks']:g}")]
    # A room after every item: each of paper B's asks for writing, its choices for a reason too.
    tex = (paper / "exam.tex").read_text()
    body = tex[tex.index("\\begin{document}") :]
    rooms = re.findall(r"\\qbspace\{[0-9a-f]+\}\{lines\}\{(\d+)\}", body)
    items = [name for q in manifest["questions"] for name in q["items"]]
    assert len(rooms) == len(re.findall(r"\\qbspace\{", body)) == len(items) == 13
    assert all(4 <= int(n) <= 30 for n in rooms)
    plain_pages, paper_pages = len(_pages(plain / "exam.pdf")), len(_pages(paper / "exam.pdf"))
    assert paper_pages >= plain_pages + 4  # a cover, and the room takes pages


@needs_tex
def test_a_rosters_cover_names_its_student(tmp_path):
    roster = tmp_path / "class.csv"
    roster.write_text("id,name\n21CS07,Meera Iyer\n21CS08,Arjun Rao\n", "utf-8")
    out = tmp_path / "out"
    r = cli("build", BANK / "exams" / "quiz.yaml", "--roster", roster, "--on-paper", "--out", out)
    assert r.returncode == 0, r.stderr
    for sid, name in (("21CS07", "Meera Iyer"), ("21CS08", "Arjun Rao")):
        cover = " ".join(_pages(out / sid / "exam.pdf")[0].split())
        assert f"Name: {name}" in cover and f"Roll No.: {sid}" in cover


QUESTION = """
id: room
title: Room to answer
topic: t
prompt: Explain dropout.
parts:
  - prompt: In a box.
    space: {box: 4cm}
    answers: [{kind: text, text: A model answer.}]
    rubric: [{marks: 1, text: It.}]
  - prompt: On squared paper.
    space: {grid: 3.5cm}
    answers: [{kind: text, text: A model answer.}]
    rubric: [{marks: 1, text: It.}]
  - prompt: Nowhere.
    space: none
    answers: [{kind: text, text: A model answer.}]
    rubric: [{marks: 1, text: It.}]
  - prompt: By default.
    answers: [{kind: text, text: A model answer.}]
    rubric: [{marks: 2, text: It.}]
"""

SPEC = "course: DL\nmax_marks: 5\non_paper: true\nsections:\n  - questions: [room]\n"


@needs_tex
def test_a_part_says_its_room_and_a_spec_says_on_paper(tmp_path):
    bank = write_tree(tmp_path / "b", {"q/room.yaml": QUESTION, "exams/s.yaml": SPEC})
    r = cli("build", bank / "exams" / "s.yaml", "--bank", bank, "--out", tmp_path / "o")
    assert r.returncode == 0, r.stderr
    tex = (tmp_path / "o" / "exam.tex").read_text()
    body = tex[tex.index("\\begin{document}") :]
    assert re.findall(r"\\qbspace\{[0-9a-f]+\}\{(\w+)\}\{([^}]*)\}", body) == [
        ("box", "4cm"),
        ("grid", "3.5cm"),
        ("lines", "6"),
    ]


@pytest.mark.parametrize(
    "space, says",
    [
        ("{lines: 0}", "lines: a whole number of lines from 1 to 60, not '0'"),
        ("{box: 6}", "box: a height such as 6cm, 45mm or 2in, not '6'"),
        ("{box: 6cm, lines: 3}", "give one of lines: N, box: LENGTH, grid: LENGTH, blank: LENGTH, or none"),
        ("{circle: 3cm}", "give one of lines: N"),
        ("lots", "space"),
    ],
)
def test_a_bad_room_is_one_line_at_its_line(tmp_path, space, says):
    bank = write_tree(
        tmp_path / "b",
        {"q/room.yaml": QUESTION.replace("space: {box: 4cm}", f"space: {space}"), "exams/s.yaml": SPEC},
    )
    r = cli("validate", "--bank", bank)
    out = r.stdout + r.stderr
    assert r.returncode == 1 and "Traceback" not in out
    assert "room.yaml:7: parts[0].space" in out and says in out


# ------------------------------------------------------------------ pages that know whose they are


@needs_tex
def test_every_page_carries_a_qr_code_naming_its_paper_and_the_manifest_where_each_room_is(tmp_path):
    import numpy as np
    import zxingcpp

    from qbgen.writers.paperpages import read_code

    from .scanfaults import render

    out = tmp_path / "out"
    r = cli("build", BANK / "exams" / "quiz.yaml", "--variants", "2", "--on-paper", "--out", out)
    assert r.returncode == 0, r.stderr
    for code in "AB":
        manifest = json.loads((out / code / "manifest.json").read_text())
        pages = render(out / code / "exam.pdf", 150)
        assert len(pages) == len(manifest["pages"])
        rooms = {}
        for n, (image, record) in enumerate(zip(pages, manifest["pages"], strict=True), 1):
            (found,) = zxingcpp.read_barcodes(image)  # a real decoder reads the page's code
            page = read_code(found.text)
            assert (page.build, page.paper, page.page) == (manifest["build"], code, n)
            scale = image.height / record["height"]
            pixels = np.asarray(image)
            for region in record["regions"]:
                rooms[region["item"]] = region
                # The ruled lines are where the manifest says: dark rows inside the box.
                top = round((record["height"] - region["y"] - region["height"]) * scale)
                bottom = round((record["height"] - region["y"]) * scale)
                left, right = round(region["x"] * scale), round((region["x"] + region["width"]) * scale)
                box = pixels[top : bottom + 2, left:right] < 240  # a light grey rule, anti-aliased
                ruled = np.flatnonzero(box.mean(axis=1) > 0.9)
                lines = 1 + int(np.count_nonzero(np.diff(ruled) > 2)) if len(ruled) else 0
                want = re.search(
                    rf"\\qbspace\{{{region['item'].encode().hex()}\}}\{{lines\}}\{{(\d+)\}}",
                    (out / code / "exam.tex").read_text(),
                )
                assert want and lines == int(want.group(1)), (code, n, region["item"], lines)
        # Every item a student writes in has its room once, on one page.
        tex = (out / code / "exam.tex").read_text()
        written = re.findall(r"\\qbspace\{([0-9a-f]+)\}", tex[tex.index("\\begin{document}") :])
        assert sorted(rooms) == sorted(bytes.fromhex(h).decode() for h in written)
        assert set(rooms) <= {k for q in manifest["questions"] for k in q["items"]}
    # exams.pdf holds the same pages, the codes drawn into them too (a blank page between
    # papers for duplex printing has none).
    texts = [[b.text for b in zxingcpp.read_barcodes(p)] for p in render(out / "exams.pdf", 100)]
    named = [read_code(t[0]) for t in texts if t]
    counts = {c: len(json.loads((out / c / "manifest.json").read_text())["pages"]) for c in "AB"}
    assert [(c.paper, c.page) for c in named] == [(c, n) for c in "AB" for n in range(1, counts[c] + 1)]
