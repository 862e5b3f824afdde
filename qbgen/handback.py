"""Stage 10: marked scripts back to the students, each a PDF of their own pages.

Room: `qbgen return BUILD`: for each student with scanned pages, `returned/ID.pdf`: a
front page (their marks per item, the rubric lines they were given, the graders'
comments, the total), typeset by LaTeX (names and comments escaped, any script through
`scripts.adapt`), then their scanned pages, each answer region stamped beside it with
its mark (pikepdf: vector text, no second TeX run), and, if asked, their own key. One
`returned/returned.csv` maps ids to files for an LMS's bulk feedback upload. The marks
are the marking store's (`qbgen mark`), with marks typed into marks.csv brought in
first, so they are what `qbgen grade` totals. Published whole, recorded as return's.
Imports errors, latex, scripts, typeset, publish, roster, scan and mark.
"""

from __future__ import annotations

import io
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import InputError, TypesetError
from .latex import escape
from .mark import open_build
from .publish import publish, staging
from .roster import folder_for
from .scan import SCANS, page_path
from .scripts import PDFLATEX_FONTS, adapt
from .typeset import typeset_all
from .writers.sheets import csv_text

FOLDER = "returned"
INDEX = "returned.csv"
RED = "0.75 0.05 0.1"


@dataclass(frozen=True)
class Line:
    """A rubric line a student was given."""

    number: int
    marks: float
    text: str


@dataclass(frozen=True)
class ItemMark:
    """One item of one student's paper as returned."""

    item: str
    most: float
    mark: float | None
    lines: tuple[Line, ...]
    comment: str
    typed: bool  # a mark typed, not the rubric's sum


@dataclass(frozen=True)
class Returned:
    """One student's returned script."""

    id: str
    name: str
    file: str  # relative to the build
    total: float
    out_of: float
    pages: int  # scanned pages in it


@dataclass(frozen=True)
class ReturnResult:
    """What `hand_back` wrote."""

    folder: Path
    returned: tuple[Returned, ...]
    without_scans: tuple[str, ...]  # students with no scanned page: no file


def _plain(tex: str) -> str:
    # A scheme line's LaTeX as plain text, its math kept for TeX: quotes and the common
    # text commands spelled out, other commands dropped; the text outside math escaped.
    out = []
    for n, piece in enumerate(re.split(r"(\$[^$]*\$)", tex)):
        if n % 2:
            out.append(piece)
            continue
        piece = piece.replace("``", "\u201c").replace("''", "\u201d").replace("~", " ")
        piece = re.sub(r"\\(?:emph|textbf|textit|text|mathrm)\{([^{}]*)\}", r"\1", piece)
        piece = re.sub(r"\\[A-Za-z]+\*?|\\.", " ", piece).replace("{", "").replace("}", "")
        lead = " " if piece[:1].isspace() else ""
        trail = " " if piece[-1:].isspace() else ""
        out.append(lead + str(escape(piece)) + trail if piece.strip() else piece)
    return " ".join("".join(out).split())


def _front(title: str, who: Returned, marks: list[ItemMark], *, texts: bool) -> str:
    rows = []
    for m in marks:
        shown = "--" if m.mark is None else f"{m.mark:g}"
        rows.append(rf"\textbf{{{escape(m.item)}}} & {shown} & {m.most:g} & ")
        notes = []
        for line in m.lines:
            text = _plain(line.text) if texts else ""
            notes.append(rf"line {line.number} (+{line.marks:g})" + (f": {text}" if text else ""))
        if m.typed:
            notes.append("mark given by the grader")
        if m.comment:
            notes.append(rf"\emph{{{escape(m.comment)}}}")
        rows[-1] += r" \newline ".join(notes) + r" \\ \hline"
    return rf"""\documentclass[11pt,a4paper]{{article}}
{PDFLATEX_FONTS}
\usepackage[margin=2cm]{{geometry}}
\usepackage{{array,longtable,amsmath,amssymb}}
\pagestyle{{empty}}
\begin{{document}}
{{\Large\bfseries {escape(title)}: marked script}}\par\medskip
{escape(who.name)} \quad ({escape(who.id)})\par\medskip
{{\large Total: \textbf{{{who.total:g}}} out of {who.out_of:g}}}\par\bigskip
\begin{{longtable}}{{|l|r|r|>{{\raggedright\arraybackslash}}p{{0.62\textwidth}}|}}
\hline \textbf{{Item}} & \textbf{{Mark}} & \textbf{{Of}} & \textbf{{Why}} \\ \hline \endhead
{chr(10).join(rows)}
\end{{longtable}}
\end{{document}}
"""


def _pdf_text(text: str) -> bytes:
    # A string for a PDF's Helvetica (WinAnsi): what it cannot show becomes `?`.
    raw = text.encode("cp1252", "replace")
    return raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")


def _width(text: str, size: int = 10) -> float:
    # The stamp's box: Helvetica's average advance is about half the size.
    return 0.5 * size * len(text) + 6


def _page(doc: Any, png: Path, width: float, height: float, stamps: list[tuple[float, float, str]]) -> Any:
    import pikepdf
    from PIL import Image

    with Image.open(png) as im:
        gray = im.convert("L")
        buf = io.BytesIO()
        gray.save(buf, "JPEG", quality=80)
        w, h = gray.size
    image = pikepdf.Stream(doc, buf.getvalue())
    image.Type, image.Subtype = pikepdf.Name.XObject, pikepdf.Name.Image
    image.Width, image.Height, image.BitsPerComponent = w, h, 8
    image.ColorSpace, image.Filter = pikepdf.Name.DeviceGray, pikepdf.Name.DCTDecode
    font = pikepdf.Dictionary(
        Type=pikepdf.Name.Font,
        Subtype=pikepdf.Name.Type1,
        BaseFont=pikepdf.Name.Helvetica,
        Encoding=pikepdf.Name.WinAnsiEncoding,
    )
    ops = [f"q {width:.2f} 0 0 {height:.2f} 0 0 cm /Scan Do Q".encode()]
    for x, y, text in stamps:
        size = 10
        box = _width(text, size)
        ops.append(f"q 1 1 1 rg {x - 3:.2f} {y - 3:.2f} {box:.2f} {size + 5:.2f} re f Q".encode())
        ops.append(f"q {RED} RG 0.8 w {x - 3:.2f} {y - 3:.2f} {box:.2f} {size + 5:.2f} re S Q".encode())
        ops.append(
            b"BT /Helv %d Tf %s rg %.2f %.2f Td (%s) Tj ET" % (size, RED.encode(), x, y, _pdf_text(text))
        )
    page = pikepdf.Dictionary(
        Type=pikepdf.Name.Page,
        MediaBox=[0, 0, width, height],
        Resources=pikepdf.Dictionary(
            XObject=pikepdf.Dictionary(Scan=image), Font=pikepdf.Dictionary(Helv=font)
        ),
        Contents=pikepdf.Stream(doc, b"\n".join(ops)),
    )
    return pikepdf.Page(page)


def _stamp_text(m: ItemMark) -> str:
    shown = "no mark" if m.mark is None else f"{m.mark:g} / {m.most:g}"
    lines = ", ".join(str(x.number) for x in m.lines)
    return f"{m.item}: {shown}" + (f"  (lines {lines})" if lines and not m.typed else "")


def hand_back(folder: Path, *, key: bool = False) -> ReturnResult:
    """Write each scanned student's marked script into `folder/returned/`."""
    import pikepdf

    if not (folder / SCANS).is_dir():
        raise InputError("no scans here: run `qbgen scan` on this build first", file=folder)
    opened = open_build(folder)
    work, store = opened.work, opened.store
    per: dict[str, list[ItemMark]] = {sid: [] for sid, _, _ in work.students}
    for unit in work.units:
        given = store.all_given(unit.key, unit.sheet)
        rubric = {n: (text, marks) for n, text, marks in store.rubric(unit.key)}
        for s in unit.scripts:
            g = given[s.student]
            lines = tuple(Line(n, rubric[n][1], rubric[n][0]) for n in sorted(g.lines) if n in rubric)
            per[s.student].append(ItemMark(s.item, s.most, g.mark, lines, g.comment, g.free is not None))
    title = str(work.students[0][2].manifest.get("spec", "exam")) if work.students else "exam"
    done: list[Returned] = []
    missing: list[str] = []
    with staging(folder) as tmp:
        work_dir = tmp / ".work"
        work_dir.mkdir()
        jobs: list[tuple[Returned, Any, list[ItemMark], list[tuple[int, Any]], Path]] = []
        for sid, name, paper in work.students:
            order = {item: n for n, item in enumerate(paper.items)}
            marks = sorted(per[sid], key=lambda m: order.get(m.item, 0))
            pages = [
                (n, record)
                for n, record in enumerate(paper.manifest.get("pages", []), 1)
                if page_path(folder, paper.code, n).exists()
            ]
            if not pages:
                missing.append(sid)
                continue
            if key and not (folder / paper.code / "key.pdf").exists():
                raise InputError(
                    "the build has no key per student: build with --student-keys to return each "
                    "student's own key",
                    field="--key",
                )
            total = math.fsum(m.mark or 0.0 for m in marks)
            out_of = float(paper.manifest.get("max_marks") or paper.marks)
            who = Returned(sid, name, f"{FOLDER}/{folder_for(sid)}.pdf", total, out_of, len(pages))
            tex = work_dir / f"front-{len(jobs)}.tex"
            tex.write_text(adapt(_front(title, who, marks, texts=True)), "utf-8")
            jobs.append((who, paper, marks, pages, tex))
        try:
            typeset_all([j[4] for j in jobs])
        except TypesetError:
            # A scheme line's LaTeX the plain front page cannot set: the lines by number only.
            for who, _paper, marks, _pages, tex in jobs:
                tex.write_text(adapt(_front(title, who, marks, texts=False)), "utf-8")
            typeset_all([j[4] for j in jobs])
        names = []
        for who, paper, marks, pages, tex in jobs:
            pdf = pikepdf.new()
            with pikepdf.open(tex.with_suffix(".pdf")) as front:
                pdf.pages.extend(front.pages)
            by_item = {m.item: m for m in marks}
            for n, record in pages:
                stamps = []
                for region in record.get("regions", []):
                    m = by_item.get(region["item"])
                    if m is None:
                        continue
                    # Inside the room's top right corner: writing starts at the left.
                    text = _stamp_text(m)
                    x = float(region["x"]) + float(region["width"]) - _width(text) - 4
                    y = float(region["y"]) + float(region["height"]) - 16
                    stamps.append((max(float(region["x"]) + 4, x), y, text))
                pdf.pages.append(
                    _page(pdf, page_path(folder, paper.code, n), record["width"], record["height"], stamps)
                )
            if key:
                with pikepdf.open(folder / paper.code / "key.pdf") as own:
                    pdf.pages.extend(own.pages)
            target = tmp / who.file
            target.parent.mkdir(exist_ok=True)
            pdf.save(target)
            names.append(who.file)
            done.append(who)
        rows = [["id", "name", "file", "total", "out_of"]]
        rows += [[r.id, r.name, Path(r.file).name, f"{r.total:g}", f"{r.out_of:g}"] for r in done]
        (tmp / FOLDER).mkdir(exist_ok=True)
        (tmp / FOLDER / INDEX).write_text(csv_text(rows), "utf-8")
        names.append(f"{FOLDER}/{INDEX}")
        publish(tmp, folder, names, command="return")
    return ReturnResult(folder / FOLDER, tuple(done), tuple(missing))


__all__ = ["ReturnResult", "Returned", "hand_back"]
