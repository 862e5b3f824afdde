"""Join page ranges of PDFs into a new PDF.

Room: PDF page copying for the build stage; imports nothing from qbgen. pikepdf (qpdf,
in C++) copies the pages: a page and what it uses (fonts, figures) are copied once per
output, shared objects once, and stream data is read from the source only while the
output is written, so joining 500 papers holds the objects' structure, not the
documents' bytes. It is about ten times faster than the pure-Python copier it replaced
(34 papers cut from one document: 0.08 s against 0.72 s on a 2-core VM).

Output is reproducible: the file's /ID is derived from its content, and the only
document information is the producer.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pikepdf

# A span: (source PDF, first page, last page), 1-based and inclusive; None is a blank page.
Span = tuple[str, int, int] | None
A4 = (595.0, 842.0)


def join(
    spans: Iterable[Span],
    target: Path,
    *,
    readers: dict[str, Any] | None = None,
    producer: str = "qbgen",
) -> int:
    """Write the pages of `spans` (None: a blank page the size of the last) to `target`.

    `readers`, if given, keeps opened sources across calls: several outputs cut from one
    source open it once. Without it each source stays open only until `target` is written.
    Returns the number of pages written.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    opened: dict[str, pikepdf.Pdf] = {} if readers is None else readers
    own = readers is None
    size = A4
    out = pikepdf.new()
    try:
        for span in spans:
            if span is None:
                out.add_blank_page(page_size=size)
                continue
            path, first, last = span
            source = opened.get(path)
            if source is None:
                source = opened[path] = pikepdf.open(path)
            pages = source.pages[first - 1 : last]
            out.pages.extend(pages)
            box = pages[-1].mediabox
            size = (float(box[2]) - float(box[0]), float(box[3]) - float(box[1]))
        out.docinfo = out.make_indirect(pikepdf.Dictionary(Producer=producer))
        out.save(target, deterministic_id=True, object_stream_mode=pikepdf.ObjectStreamMode.generate)
        return len(out.pages)
    finally:
        out.close()
        if own:
            for source in opened.values():
                source.close()
