r"""Stage 5c: the bank's LaTeX as HTML, for the outputs that are not print.

Room: converting rendered LaTeX fragments to HTML with pandoc (one run for many
fragments), math left as `\(...\)` and `\[...\]` for MathJax or KaTeX, and a
generator's figures typeset by pdflatex, as PNG (pdftoppm) or SVG (pdftocairo).
Imports errors, typeset. The LMS writers and the review site use it; they say where
each picture goes.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from .errors import QbgenError, TypesetError
from .typeset import typeset

SEPARATOR = "QBGENFRAGMENTSEPARATOR"
_FIGURE = re.compile(r"\\qbfigure\[\{")
_MARK = "QBGENFIGURE{key}QBGENFIGURE"
_MARKED = re.compile(r"QBGENFIGURE([0-9a-f]+)QBGENFIGURE")


@dataclass(frozen=True)
class Picture:
    """A figure found in the text: its key, what it shows in words, and its TikZ."""

    key: str
    alt: str
    tikz: str


def _group(text: str, start: int) -> tuple[str, int]:
    # The balanced {...} group opening at text[start]; returns its body and the end.
    # A backslash escapes the character after it (\{, \}, \\).
    assert text[start] == "{"
    depth, i = 0, start
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] == "{":
            depth += 1
        elif text[i] == "}":
            depth -= 1
            if depth == 0:
                return text[start + 1 : i], i + 1
        i += 1
    raise QbgenError("unbalanced braces in a figure")


def _plain_alt(alt: str) -> str:
    return alt.replace("{,}", ",").replace("\\textquotesingle{}", "'").replace("\\_", "_")


def extract_figures(tex: str) -> tuple[str, list[Picture]]:
    r"""Replace each `\qbfigure[{ALT}]{KEY}{TIKZ}` in `tex` by a mark; return the pictures."""
    found: list[Picture] = []
    out = []
    pos = 0
    while (m := _FIGURE.search(tex, pos)) is not None:
        alt, after = _group(tex, m.end() - 1)
        assert tex[after] == "]"
        key, after = _group(tex, after + 1)
        tikz, after = _group(tex, after)
        out.append(tex[pos : m.start()])
        out.append(_MARK.format(key=key))
        found.append(Picture(key, _plain_alt(alt), tikz))
        pos = after
    out.append(tex[pos:])
    return "".join(out), found


def to_html(fragments: Sequence[str], image: Callable[[Picture], str]) -> list[str]:
    """Convert LaTeX fragments to HTML in one pandoc run; `image` gives each figure's tag."""
    if not fragments:
        return []
    pictures: dict[str, Picture] = {}
    marked = []
    for tex in fragments:
        text, found = extract_figures(tex)
        pictures.update((p.key, p) for p in found)
        marked.append(text)
    source = f"\n\n{SEPARATOR}\n\n".join(marked)
    exe = shutil.which("pandoc")
    if exe is None:
        raise QbgenError("pandoc is not installed: apt-get install pandoc (it converts LaTeX to HTML)")
    proc = subprocess.run(
        [exe, "-f", "latex", "-t", "html", "--mathjax", "--wrap=none", "--no-highlight"],
        input=source,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    if proc.returncode != 0:
        raise QbgenError(f"pandoc could not convert the text to HTML: {proc.stderr.strip()[:200]}")
    parts = re.split(rf"\s*<p>{SEPARATOR}</p>\s*", proc.stdout.strip())
    if len(parts) != len(fragments):
        raise QbgenError(f"pandoc merged text fragments ({len(parts)} for {len(fragments)})")
    # A number qbgen printed is `\ensuremath{...}`: outside math pandoc made it math, inside
    # it stays in the formula's TeX, which MathJax and KaTeX do not know: a plain group.
    # (Stripping it before pandoc lost numbers: `\enspace {7{,}776}` drops the group.)
    return [
        _MARKED.sub(lambda m: image(pictures[m[1]]), part.replace("\\ensuremath{", "{")) for part in parts
    ]


FIGURE_DOC = r"""\documentclass[tikz,border=3pt]{standalone}
\usepackage[T1]{fontenc}
\usepackage{lmodern,amsmath,amssymb,xcolor}
\usetikzlibrary{arrows.meta,positioning,calc}
\makeatletter
\newcommand{\qbdraw}[1]{\pgfsys@invoke{#1}}
\makeatother
\begin{document}
%s
\end{document}
"""


def _typeset_figures(pictures: Sequence[Picture], work: Path) -> tuple[list[Picture], Path]:
    # Each picture once, a page each of one pdflatex run in `work`: them, and the PDF.
    unique = list({p.key: p for p in pictures}.values())
    work.mkdir(parents=True, exist_ok=True)
    tex = work / "figures.tex"
    tex.write_text(FIGURE_DOC % "\n".join(p.tikz for p in unique), "utf-8")
    try:
        return unique, typeset(tex)
    except TypesetError as exc:
        raise QbgenError(f"a figure does not typeset on its own: {exc}") from None


def _one_page_each(pages: int, pictures: int) -> None:
    # The figures' document has one page per picture, or a picture broke the layout.
    if pages != pictures:
        raise QbgenError(f"the figures typeset to {pages} pages for {pictures} pictures")


def figures_to_png(pictures: Sequence[Picture], folder: Path, *, dpi: int = 150) -> dict[str, Path]:
    """Typeset each picture once (one pdflatex run) and return {key: PNG file} in `folder`."""
    if not pictures:
        return {}
    work = folder / ".figures"
    unique, pdf = _typeset_figures(pictures, work)
    subprocess.run(
        ["pdftoppm", "-png", "-r", str(dpi), pdf.name, "page"], cwd=work, check=True, capture_output=True
    )
    pages = sorted(work.glob("page-*.png"), key=lambda p: int(p.stem.split("-")[1]))
    _one_page_each(len(pages), len(unique))
    out = {}
    for picture, page in zip(unique, pages, strict=True):
        target = folder / f"figure-{picture.key}.png"
        page.replace(target)
        out[picture.key] = target
    shutil.rmtree(work, ignore_errors=True)
    return out


def figures_to_svg(pictures: Sequence[Picture], folder: Path) -> dict[str, Path]:
    """Typeset each picture once (one pdflatex run) and return {key: SVG file} in `folder`.

    The SVGs carry their glyphs as outlines: they show the same in any browser, offline.
    """
    if not pictures:
        return {}
    work = folder / ".figures"
    unique, pdf = _typeset_figures(pictures, work)
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    _one_page_each(int(re.search(r"^Pages:\s+(\d+)", info, re.M)[1]), len(unique))  # type: ignore[index]
    out = {}
    for page, picture in enumerate(unique, start=1):
        target = folder / f"figure-{picture.key}.svg"
        subprocess.run(
            ["pdftocairo", "-svg", "-f", str(page), "-l", str(page), str(pdf), str(target)],
            check=True,
            capture_output=True,
        )
        out[picture.key] = target
    shutil.rmtree(work, ignore_errors=True)
    return out


__all__ = ["Picture", "extract_figures", "figures_to_png", "figures_to_svg", "to_html"]
