r"""Stage 5c: the bank's LaTeX as HTML, for the outputs that are not print.

Room: converting rendered LaTeX fragments to HTML with pandoc (each distinct text
once, many to a run, runs of bounded size), math left as `\(...\)` and `\[...\]` for
MathJax or KaTeX, and a generator's figures typeset by pdflatex, as PNG (pdftoppm) or
SVG (pdftocairo).
Imports errors, typeset. The LMS writers and the review site use it; they say where
each picture goes.

Bank text is trusted like code, but a colleague's bank must not read the files of the
one who exports it or reviews its site, nor make a page reach the network: pandoc runs
with `--sandbox` (it reads no file, the text comes on stdin) under a time and a heap
limit, and HTML that links to `javascript:`/`data:` or loads anything from outside its
folder is refused (`refusals` says where, for `validate`).
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from .errors import EnvironmentProblem, InputError, QbgenError, TypesetError
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


# The shipped bank's whole site (300 kB of LaTeX) converts in 0.5 s with a 120 MB peak,
# ten times that text in one run 6 s and 480 MB, and pandoc's memory grows faster than
# its text (a 200-student export's 11 MB in one run: 1 GB). So text goes to pandoc in
# runs of at most CHUNK_CHARS (about 130 MB of pandoc, `_convert`), and these limits
# stop a runaway macro, never a big bank or a big class.
PANDOC_SECONDS = 120
PANDOC_HEAP = "1g"  # GHC's heap limit (`+RTS -M`); an address-space rlimit breaks GHC's allocator
CHUNK_CHARS = 300_000  # characters of LaTeX (figures cut out) a pandoc run takes, but for one longer text
# What the sandboxed pandoc says when the text asks it to read a file (\input, \include,
# \lstinputlisting, \inputminted, \subfile, ...): the file is not read, the text refused.
_INCLUDE = re.compile(r"Could not load include file (.+?) at line (\d+) column \d+")


@dataclass(frozen=True)
class Refusal:
    """Something an HTML output refuses in one fragment: which, its line (1-based), why."""

    fragment: int
    line: int
    message: str


def _pandoc(source: str) -> tuple[str, str]:
    # pandoc's HTML for `source` and its warnings (the files it did not read), or one
    # line saying why not.
    exe = shutil.which("pandoc")
    if exe is None:
        raise EnvironmentProblem(
            "pandoc is not installed: apt-get install pandoc (it converts LaTeX to HTML)"
        )
    args = [exe, "+RTS", f"-M{PANDOC_HEAP}", "-RTS", "--sandbox"]
    args += ["-f", "latex", "-t", "html", "--mathjax", "--wrap=none", "--no-highlight"]
    try:
        proc = subprocess.run(
            args, input=source, capture_output=True, text=True, check=False, timeout=PANDOC_SECONDS
        )
    except subprocess.TimeoutExpired:
        raise InputError(
            f"pandoc did not convert the text to HTML within {PANDOC_SECONDS} s "
            "(a macro that expands without end?)"
        ) from None
    if "Heap exhausted" in proc.stderr:
        raise InputError(
            f"pandoc ran out of memory ({PANDOC_HEAP}B) converting the text to HTML "
            "(a macro that expands without end?)"
        )
    if proc.returncode != 0 and "sandbox" in proc.stderr:
        raise EnvironmentProblem("pandoc 2.15 or newer is needed (for --sandbox): apt-get install pandoc")
    if proc.returncode != 0:
        raise QbgenError(f"pandoc could not convert the text to HTML: {proc.stderr.strip()[:200]}")
    return proc.stdout, proc.stderr


def _scheme(url: str) -> str:
    # The scheme a browser reads in an attribute's URL: it drops control characters,
    # spaces, tabs and newlines (`java\tscript:` is javascript:), and case does not count.
    m = re.match(r"([a-z][a-z0-9+.-]*):", re.sub(r"[\x00-\x20\x7f]", "", url).lower())
    return m[1] if m else ""


_NO_LINK = ("javascript", "vbscript", "data", "file")
_LINK_RULE = "the HTML outputs refuse javascript:, vbscript:, data: and file: links"
_LOAD_RULE = "the HTML outputs load nothing from the network or from outside their folder"
_LINKS = {"href", "action", "formaction", "xlink:href"}  # followed on a click
_LOADS = {"src", "srcset", "poster", "data", "background"}  # fetched with the page
_CSS_ESCAPE = re.compile(r"\\([0-9a-fA-F]{1,6})\s?|\\(.)")
_CSS_LOADS = ("url(", "image-set(", "@import", "expression(")
_MATH = re.compile(r"\\\(.*?\\\)|\\\[.*?\\\]", re.S)
# MathJax follows \href in math, and its html extension styles with \style.
_MATH_LINK = re.compile(r"\\(?:href|url)\s*\{([^}]*)\}")
_MATH_STYLE = re.compile(r"\\(?:style|htmlStyle)\s*\{([^}]*)\}")


def _css(value: str) -> str:
    # CSS as a browser reads it: escapes (`\75 rl(` is url() decoded, spaces gone, lower case.
    decoded = _CSS_ESCAPE.sub(lambda m: chr(int(m[1], 16)) if m[1] else m[2], value)
    return re.sub(r"\s", "", decoded).lower()


def _loads_from_outside(url: str) -> bool:
    # A picture the page fetches from the network (a scheme, `//host`) or from outside its
    # folder (`/etc/...`, `..`, `C:`); only a plain relative name stays in the export.
    plain = re.sub(r"[\x00-\x20\x7f]", "", url).replace("\\", "/")
    return bool(_scheme(plain)) or plain.startswith("/") or ".." in plain.split("/")


class _Attributes(HTMLParser):
    # What one fragment's HTML refers to, its character references decoded as a browser
    # would (`&#106;avascript:` is javascript:): (what the text does, its URL, the rule).
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value is None:
                continue
            if name in _LINKS and _scheme(value) in _NO_LINK:
                self.found.append((f"links to {value[:60]}", value, _LINK_RULE))
            elif name in _LOADS and any(
                _loads_from_outside(u.split()[0]) for u in value.split(",") if u.split()
            ):
                self.found.append((f"loads a picture from {value[:60]}", value, _LOAD_RULE))
            elif name == "style" and any(k in _css(value) for k in _CSS_LOADS):
                self.found.append((f"styles with a URL ({value[:60]})", "url", _LOAD_RULE))

    def handle_data(self, data: str) -> None:
        for math in _MATH.findall(data):
            for url in _MATH_LINK.findall(math):
                if _scheme(url) in _NO_LINK:
                    self.found.append((f"links to {url[:60]} in math", url, _LINK_RULE))
            for css in _MATH_STYLE.findall(math):
                if any(k in _css(css) for k in _CSS_LOADS):
                    self.found.append((f"styles math with a URL ({css[:60]})", "url", _LOAD_RULE))


def _line_of(tex: str, needles: Sequence[str]) -> int:
    # The first line of `tex` holding a needle (tried in order, case ignored), else 1.
    lines = tex.lower().splitlines()
    for needle in (n.lower() for n in needles if n.strip()):
        for number, line in enumerate(lines, 1):
            if needle in line:
                return number
    return 1


def _chunks(texts: Sequence[str]) -> Iterator[range]:
    # Consecutive runs of `texts` of at most CHUNK_CHARS characters (a longer text alone).
    start, size = 0, 0
    for i, text in enumerate(texts):
        if i > start and size + len(text) > CHUNK_CHARS:
            yield range(start, i)
            start, size = i, 0
        size += len(text) + len(SEPARATOR) + 4
    if start < len(texts):
        yield range(start, len(texts))


def _convert_run(marked: Sequence[str], fragments: Sequence[str]) -> tuple[list[str], list[Refusal]]:
    # One sandboxed pandoc run over `marked` (figures cut out of `fragments`): each
    # fragment's HTML, and what the HTML outputs refuse in them (indices into the run).
    source = f"\n\n{SEPARATOR}\n\n".join(marked)
    out, log = _pandoc(source)
    parts = re.split(rf"\s*<p>{SEPARATOR}</p>\s*", out.strip())
    if len(parts) != len(fragments):
        raise QbgenError(f"pandoc merged text fragments ({len(parts)} for {len(fragments)})")
    refused: list[Refusal] = []
    # pandoc names the line of the whole source an include was at: the fragment it is in.
    starts = [0]
    for text in marked:
        starts.append(starts[-1] + text.count("\n") + 4)  # its lines, a blank, SEP, a blank
    for m in _INCLUDE.finditer(log):
        index = max((i for i, s in enumerate(starts[:-1]) if s < int(m[2])), default=0)
        name = m[1]
        line = _line_of(fragments[index], [name, name.removesuffix(".tex"), "input", "include"])
        refused.append(
            Refusal(
                index, line, f"reads a file ({name}): the HTML outputs read no file (pandoc runs sandboxed)"
            )
        )
    for index, part in enumerate(parts):
        parser = _Attributes()
        parser.feed(part)
        parser.close()
        for does, url, rule in parser.found:
            # The line that spells the URL, else (a macro built it) one naming its scheme.
            line = _line_of(fragments[index], [url, _scheme(url), "url", "href"])
            refused.append(Refusal(index, line, f"{does}: {rule}"))
    return parts, refused


def _convert(fragments: Sequence[str]) -> tuple[list[str], list[Refusal], dict[str, Picture]]:
    # Each fragment's HTML (figures still marks), what the HTML outputs refuse in them,
    # and the pictures by key. A text given twice is converted once (a class's papers
    # repeat most of their text), and the distinct texts go to pandoc in runs of at most
    # CHUNK_CHARS characters: pandoc's memory grows faster than its input, so one run
    # of a 2,000-student export's text would not fit in its heap. A fragment is
    # converted on its own either way (SEPARATOR), so the runs give the same HTML.
    pictures: dict[str, Picture] = {}
    first: dict[str, int] = {}  # each distinct text: its place among the distinct ones
    where = [first.setdefault(tex, len(first)) for tex in fragments]
    distinct = list(first)
    marked = []
    for tex in distinct:
        text, found = extract_figures(tex)
        pictures.update((p.key, p) for p in found)
        marked.append(text)
    html: list[str] = []
    refused_distinct: list[Refusal] = []
    for run in _chunks(marked):
        parts, refused = _convert_run(marked[run.start : run.stop], distinct[run.start : run.stop])
        html += parts
        refused_distinct += [Refusal(run.start + r.fragment, r.line, r.message) for r in refused]
    # Every fragment that holds a refused text is named, as one run over all of them would.
    holders: dict[int, list[int]] = {}
    for index, d in enumerate(where):
        holders.setdefault(d, []).append(index)
    refused_all = [Refusal(i, r.line, r.message) for r in refused_distinct for i in holders[r.fragment]]
    return [html[d] for d in where], refused_all, pictures


def refusals(fragments: Sequence[str]) -> list[Refusal]:
    """What the HTML outputs would refuse in each LaTeX fragment (sandboxed pandoc runs)."""
    return _convert(fragments)[1] if fragments else []


def to_html(fragments: Sequence[str], image: Callable[[Picture], str]) -> list[str]:
    """Convert LaTeX fragments to HTML (few pandoc runs); `image` gives each figure's tag.

    Text that reads a file, links to `javascript:` or `data:`, or loads a picture from
    the network is an error (`qbgen validate` names its file, line and field).
    """
    if not fragments:
        return []
    parts, refused, pictures = _convert(fragments)
    if refused:
        first = refused[0]
        lines = fragments[first.fragment].splitlines() or [""]
        where = " ".join(lines[min(first.line, len(lines)) - 1].split())[:60]
        raise InputError(
            f'the bank\'s text {first.message}, in "{where}"; qbgen validate names its file and line'
        )
    # A number qbgen printed is `\ensuremath{...}`: outside math pandoc made it math, inside
    # it stays in the formula's TeX, which MathJax and KaTeX do not know: a plain group.
    # (Stripping it before pandoc lost numbers: `\enspace {7{,}776}` drops the group.)
    # The figures go in after the check: their files are qbgen's own.
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


PAGES_PER_RUN = 50  # figures a pdftoppm run draws at least, when there are many


def figures_to_png(pictures: Sequence[Picture], folder: Path, *, dpi: int = 150) -> dict[str, Path]:
    """Typeset each picture once (one pdflatex run) and return {key: PNG file} in `folder`."""
    if not pictures:
        return {}
    work = folder / ".figures"
    unique, pdf = _typeset_figures(pictures, work)
    # pdftoppm draws one page at a time: a class's hundreds of figures go on every core,
    # each run drawing a range of pages (named by page number all the same).
    runs = max(1, min(os.cpu_count() or 1, len(unique) // PAGES_PER_RUN))
    bounds = [len(unique) * k // runs for k in range(runs + 1)]
    procs = [
        subprocess.Popen(
            ["pdftoppm", "-png", "-r", str(dpi), "-f", str(first + 1), "-l", str(last), pdf.name, "page"],
            cwd=work,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for first, last in itertools.pairwise(bounds)
    ]
    for proc in procs:
        _, err = proc.communicate()
        if proc.returncode:
            raise subprocess.CalledProcessError(proc.returncode, proc.args, stderr=err)
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


__all__ = ["Picture", "Refusal", "extract_figures", "figures_to_png", "figures_to_svg", "refusals", "to_html"]
