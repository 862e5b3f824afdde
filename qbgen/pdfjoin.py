"""Join page ranges of PDFs into a new PDF, streaming: memory bounded by one source.

Room: PDF page copying for the build stage; imports nothing from qbgen. pypdf reads
the sources; objects are written to the output as soon as they are copied, and a
source's objects are forgotten when its pages are done, so joining 500 papers takes
the memory of one document, not of the whole output (pypdf's own writer keeps every
page until it writes). Objects shared within one source (fonts) are written once.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any, BinaryIO

from pypdf import PdfReader
from pypdf.generic import (
    ArrayObject,
    DictionaryObject,
    EncodedStreamObject,
    FloatObject,
    IndirectObject,
    NameObject,
    NumberObject,
    StreamObject,
    TextStringObject,
)

# A span: (source PDF, first page, last page), 1-based and inclusive; None is a blank page.
Span = tuple[str, int, int] | None
_SKIP = {"/Parent", "/Annots", "/B", "/StructParents"}  # keys that would pull in other pages


class _Source:
    """A parsed source PDF and its pages, listed once."""

    def __init__(self, path: str) -> None:
        self.pages = list(PdfReader(path).pages)


class _Out:
    def __init__(self, fh: BinaryIO) -> None:
        self.fh = fh
        self.offsets: list[int | None] = [None, None, None]  # 1: catalog, 2: page tree
        self.kids: list[int] = []

    def alloc(self) -> int:
        self.offsets.append(None)
        return len(self.offsets) - 1

    def write(self, num: int, obj: Any) -> None:
        self.offsets[num] = self.fh.tell()
        self.fh.write(f"{num} 0 obj\n".encode())
        obj.write_to_stream(self.fh)
        self.fh.write(b"\nendobj\n")


class _Copier:
    """Copies objects of one source into the output, each indirect object once."""

    def __init__(self, out: _Out) -> None:
        self.out = out
        self.mapped: dict[int, int] = {}
        self.queue: list[tuple[int, IndirectObject]] = []

    def ref(self, ind: IndirectObject) -> IndirectObject:
        num = self.mapped.get(ind.idnum)
        if num is None:
            num = self.mapped[ind.idnum] = self.out.alloc()
            self.queue.append((num, ind))
        return IndirectObject(num, 0, None)  # type: ignore[arg-type]

    def copy(self, obj: Any, skip: set[str] | None = None) -> Any:
        if isinstance(obj, IndirectObject):
            return self.ref(obj)
        if isinstance(obj, StreamObject):
            new = EncodedStreamObject()
            new._data = obj._data  # noqa: SLF001 - the still-encoded bytes, copied as they are
            for k, v in obj.items():
                if k != "/Length":
                    new[NameObject(k)] = self.copy(v)
            return new
        if isinstance(obj, DictionaryObject):
            new_dict = DictionaryObject()
            for k, v in obj.items():
                if not skip or k not in skip:
                    new_dict[NameObject(k)] = self.copy(v)
            return new_dict
        if isinstance(obj, ArrayObject):
            return ArrayObject(self.copy(v) for v in obj)
        return obj

    def flush(self) -> None:
        while self.queue:
            num, ind = self.queue.pop()
            self.out.write(num, self.copy(ind.get_object()))


def join(
    spans: Iterable[Span],
    target: Path,
    *,
    readers: dict[str, Any] | None = None,
    producer: str = "qbgen",
) -> int:
    """Write the pages of `spans` (None: a blank page the size of the last) to `target`.

    `readers`, if given, keeps parsed sources across calls: several outputs cut from one
    source parse it once. Without it each source is dropped when its pages are done.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("wb") as fh:
        fh.write(b"%PDF-1.5\n%\xe2\xe3\xcf\xd3\n")
        out = _Out(fh)
        reader: _Source | None = None
        source: str | None = None
        copier = _Copier(out)
        box: Any = ArrayObject([NumberObject(0), NumberObject(0), FloatObject(595), FloatObject(842)])
        for span in spans:
            if span is None:
                num = out.alloc()
                blank = DictionaryObject(
                    {
                        NameObject("/Type"): NameObject("/Page"),
                        NameObject("/Parent"): IndirectObject(2, 0, None),  # type: ignore[arg-type]
                        NameObject("/MediaBox"): box,
                        NameObject("/Resources"): DictionaryObject(),
                    }
                )
                out.write(num, blank)
                out.kids.append(num)
                continue
            pdf, first, last = span
            if pdf != source:  # a new source: forget the previous one's objects
                copier.flush()
                copier = _Copier(out)
                # Never test a reader's truth: that counts its pages, and pypdf walks
                # the page tree (decompressing object streams) on every count.
                if readers is None:
                    reader = _Source(pdf)
                elif pdf in readers:
                    reader = readers[pdf]
                else:
                    reader = readers[pdf] = _Source(pdf)
                source = pdf
            assert reader is not None
            for n in range(first - 1, last):
                page = reader.pages[n]
                box = copier.copy(page.mediabox)
                new = copier.copy(page.get_object(), skip=_SKIP)
                new[NameObject("/Parent")] = IndirectObject(2, 0, None)  # type: ignore[arg-type]
                new[NameObject("/MediaBox")] = box
                num = out.alloc()
                out.write(num, new)
                out.kids.append(num)
                copier.flush()
        copier.flush()
        kids = ArrayObject(IndirectObject(k, 0, None) for k in out.kids)  # type: ignore[arg-type]
        out.write(
            2,
            DictionaryObject(
                {
                    NameObject("/Type"): NameObject("/Pages"),
                    NameObject("/Kids"): kids,
                    NameObject("/Count"): NumberObject(len(out.kids)),
                }
            ),
        )
        out.write(
            1,
            DictionaryObject(
                {
                    NameObject("/Type"): NameObject("/Catalog"),
                    NameObject("/Pages"): IndirectObject(2, 0, None),  # type: ignore[arg-type]
                }
            ),
        )
        info = out.alloc()
        out.write(info, DictionaryObject({NameObject("/Producer"): TextStringObject(producer)}))
        xref = fh.tell()
        fh.write(f"xref\n0 {len(out.offsets)}\n0000000000 65535 f \n".encode())
        for off in out.offsets[1:]:
            assert off is not None
            fh.write(f"{off:010d} 00000 n \n".encode())
        fh.write(
            f"trailer\n<< /Size {len(out.offsets)} /Root 1 0 R /Info {info} 0 R >>\n"
            f"startxref\n{xref}\n%%EOF\n".encode()
        )
    return len(out.kids)
