r"""Pages that know whose they are: an answer-on-paper page's QR code and corner marks.

Room: what the LaTeX writer does to an on-paper exam after TeX has set it. Every page
gets, drawn into the PDF with pikepdf (vector squares, no font), four corner marks for
registration and a QR code (segno) holding the build, the set or student and the page;
TeX wrote where each room to answer went (`\qbspace` records its box with `\pdfsavepos`
into `<document>.rooms`), read back here into each paper's manifest. Imports nothing of
qbgen. `docs/MANIFEST.md` documents the code's text and the regions.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

SP_PER_BP = 65536 * 72.27 / 72  # TeX's scaled points in a PDF point
PT_PER_BP = 72.27 / 72
PREFIX = "qbgen"
VERSION = "1"
MARK = 14.17  # a corner mark's side: 5 mm
INSET = 22.68  # its distance from the page's edges: 8 mm
QR_SIZE = 48.0  # the QR code's side with its quiet zone: 17 mm


def build_id(spec: str, seed: int, original: bool) -> str:
    """The build a page belongs to: the same spec and seed give the same papers."""
    return hashlib.sha256(f"{spec}\0{seed}\0{original}".encode()).hexdigest()[:10]


def page_code(build: str, paper: str, page: int) -> str:
    """The text of a page's QR code: `qbgen:1:BUILD:PAPER:PAGE` (the paper percent-encoded)."""
    return f"{PREFIX}:{VERSION}:{build}:{quote(paper, safe='')}:{page}"


@dataclass(frozen=True)
class PageCode:
    """What a page's QR code says."""

    build: str
    paper: str  # the set's letter or the student's id ("" for a single paper)
    page: int


def read_code(text: str) -> PageCode | None:
    """The page a QR code's text names, or None if it is not one of qbgen's."""
    parts = text.split(":")
    if len(parts) != 5 or parts[0] != PREFIX or parts[1] != VERSION or not parts[4].isdigit():
        return None
    return PageCode(parts[2], unquote(parts[3]), int(parts[4]))


@dataclass(frozen=True)
class Room:
    """Where an item's room to answer fell.

    The page is the document's (absolute); the box is in PDF points from the page's lower
    left corner.
    """

    item: str
    page: int
    x: float
    y: float
    width: float
    height: float


def read_rooms(rooms_file: Path) -> list[Room]:
    """Every room TeX recorded in one document (`ITEMHEX PAGE XSP YSP WIDTHpt HEIGHTpt` a line)."""
    if not rooms_file.exists():
        return []
    out = []
    for line in rooms_file.read_text("ascii").splitlines():
        name, page, x, y, width, height = line.split()
        out.append(
            Room(
                bytes.fromhex(name).decode(),
                int(page),
                round(int(x) / SP_PER_BP, 2),
                round(int(y) / SP_PER_BP, 2),
                round(float(width.removesuffix("pt")) / PT_PER_BP, 2),
                round(float(height.removesuffix("pt")) / PT_PER_BP, 2),
            )
        )
    return out


def _qr_ops(text: str, x: float, y: float, size: float) -> str:
    # The code's dark modules as filled rectangles, a horizontal run at a time.
    import segno

    qr = segno.make(text, error="m", micro=False)
    matrix = [list(row) for row in qr.matrix]
    n = len(matrix) + 8  # four modules of quiet zone each side
    m = size / n
    ops = []
    for r, row in enumerate(matrix):
        c = 0
        while c < len(row):
            if row[c]:
                start = c
                while c < len(row) and row[c]:
                    c += 1
                left, top = x + (start + 4) * m, y + size - (r + 4) * m
                ops.append(f"{left:.3f} {top - m:.3f} {(c - start) * m:.3f} {m:.3f} re")
            else:
                c += 1
    return "\n".join(ops)


def _marks_ops(width: float, height: float) -> str:
    corners = [(INSET, INSET), (width - INSET - MARK, INSET), (INSET, height - INSET - MARK)]
    corners.append((width - INSET - MARK, height - INSET - MARK))
    return "\n".join(f"{x:.3f} {y:.3f} {MARK:.3f} {MARK:.3f} re" for x, y in corners)


def qr_box(width: float) -> tuple[float, float]:
    """Where the QR code sits on a page of this width: its lower left corner."""
    return INSET + MARK + 6.0, INSET - 4.0


def stamp(pdf: Path, codes: dict[int, str]) -> None:
    """Draw the corner marks and the QR code of `codes` ({1-based page: text}) on those pages."""
    import pikepdf

    with pikepdf.open(pdf, allow_overwriting_input=True) as doc:
        for number, text in codes.items():
            page = doc.pages[number - 1]
            llx, lly, urx, ury = (float(v) for v in page.mediabox)
            width, height = urx - llx, ury - lly
            x, y = qr_box(width)
            ops = f"{_marks_ops(width, height)}\n{_qr_ops(text, llx + x, lly + y, QR_SIZE)}"
            # The page's own drawing in q/Q, so nothing it leaves set (a colour, a
            # transformation) reaches the marks; the marks in black.
            page.contents_add(pikepdf.Stream(doc, b"q\n"), prepend=True)
            page.contents_add(pikepdf.Stream(doc, f"Q\nq 0 g\n{ops}\nf\nQ\n".encode()))
        doc.save(pdf, deterministic_id=True)


def page_records(
    rooms: Iterable[Room], first: int, last: int, sizes: Sequence[tuple[float, float]]
) -> list[dict[str, Any]]:
    """A paper's pages for its manifest: each page's size, its rooms and its bubbles.

    A room's name is its item's; a bubble's is `ITEM.ANSWER:LABEL` (a choice's option).
    """
    regions: dict[int, list[dict[str, Any]]] = {p: [] for p in range(first, last + 1)}
    bubbles: dict[int, list[dict[str, Any]]] = {p: [] for p in range(first, last + 1)}
    for r in rooms:
        if not first <= r.page <= last:
            continue
        box = {"x": r.x, "y": r.y, "width": r.width, "height": r.height}
        answer, colon, option = r.item.rpartition(":")
        if colon:
            bubbles[r.page].append({"answer": answer, "option": option, **box})
        else:
            regions[r.page].append({"item": r.item, **box})
    return [
        {"page": p - first + 1, "width": w, "height": h, "regions": regions[p], "bubbles": bubbles[p]}
        for p, (w, h) in zip(range(first, last + 1), sizes, strict=True)
    ]


def page_sizes(pdf: Path, first: int, last: int) -> list[tuple[float, float]]:
    """The sizes (PDF points) of pages `first` to `last`."""
    import pikepdf

    with pikepdf.open(pdf) as doc:
        out = []
        for page in doc.pages[first - 1 : last]:
            llx, lly, urx, ury = (float(v) for v in page.mediabox)
            out.append((round(urx - llx, 2), round(ury - lly, 2)))
        return out


def add_pages(manifest: Path, build: str, pages: list[dict[str, Any]]) -> None:
    """Write a paper's pages (and the build its codes name) into its manifest.json."""
    data = json.loads(manifest.read_text("utf-8"))
    data["build"] = build
    data["pages"] = pages
    manifest.write_text(json.dumps(data, indent=2) + "\n", "utf-8")


__all__ = [
    "PageCode",
    "Room",
    "add_pages",
    "build_id",
    "page_code",
    "page_records",
    "page_sizes",
    "qr_box",
    "read_code",
    "read_rooms",
    "stamp",
]
