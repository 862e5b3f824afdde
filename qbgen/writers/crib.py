"""The crib writer: per question, every set's or student's own numbers on a few lines.

Room: `crib.pdf` (and `crib.tex`) of a build of several papers. Imports kinds, latex,
models, typeset. A grader marks scripts question by question with one model key
for the words and the marking scheme; the crib gives, for each question with numbers,
a table of every paper's answers as its key prints them and the interval a grader
accepts: dozens of students a page, instead of a key per student.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from ..kinds import KINDS, CribCell
from ..latex import escape
from ..models import Package, Paper, QuestionInstance
from ..render import package_lines
from ..scripts import (
    LUALATEX_MARK,
    NAMES_FILE,
    PDFLATEX_FONTS,
    adapt,
    engine_of,
    mark_names,
    names_document,
    split_names,
    symbol_definitions,
)
from ..typeset import ensure_format, typeset
from .streaming import Streaming

TEX = "crib.tex"
PDF = "crib.pdf"

PREAMBLE = (
    "\\documentclass[10pt]{article}\n\\usepackage[a4paper,margin=1.8cm]{geometry}\n"
    + PDFLATEX_FONTS
    + "\n\\usepackage{amsmath,amssymb,array,longtable,booktabs}\n"
    + symbol_definitions()
    + "\n\\setlength{\\parindent}{0pt}\n"
)


def crib_preamble(packages: Sequence[Package] = ()) -> str:
    """The crib's preamble, with the banks' packages (its labels are bank text)."""
    lines = package_lines(packages)
    return str(lines["packages_before"]) + PREAMBLE + str(lines["packages_after"])


# The preamble loads from a cached format (typeset.ensure_format), as a paper's does.
HEAD = r"""\csname endofdump\endcsname
\ifdefined\pdfextension\pdfextension info{/Creator (qbgen) /Producer (qbgen)}\else
  \pdfinfo{/Creator (qbgen) /Producer (qbgen)}\fi
\begin{document}
"""


def _breakable(text: str) -> str:
    # An id or a name escaped, its long ASCII words allowed to break anywhere, but only
    # where nothing else fits (a roll number of 40 characters wraps in its column instead
    # of running into the next).
    # Other scripts are left whole: a break inside a word would undo its shaping; a name
    # pdflatex cannot set is marked for LuaLaTeX to set once, as an image (mark_names).
    if engine_of(escape(text)) == "lualatex":
        return mark_names(escape(text), whole=0)  # a word each: it breaks in its column
    words = []
    for word in str(text).split():
        if len(word) > 10 and word.isascii():
            words.append(r"\penalty5000\relax{}".join(escape(ch) for ch in word))
        else:
            words.append(escape(word))
    return " ".join(words)


def _who(paper: Paper) -> tuple[str, ...]:
    exam = paper.exam
    if exam.candidate is not None:
        return (_breakable(exam.candidate.id), _breakable(exam.candidate.name))
    return (_breakable(exam.variant or ""),)


@dataclass(frozen=True)
class Line:
    """One paper's answers to one question: all the crib keeps of a paper."""

    who: tuple[str, ...]  # the paper's row head: (id, name) of a student, (set,) of a set
    qid: str
    title: str
    cells: tuple[CribCell, ...]


def _cells(q: QuestionInstance) -> tuple[CribCell, ...]:
    # Working values the paper does not ask for (`asked: false`) are listed too: graders
    # give method marks by them. Two answers of one key (two choices) are told apart.
    out: list[CribCell] = []
    seen: set[str] = set()
    for a in q.all_answers():
        for cell in KINDS[a.kind].crib_cells(a):
            key, k = cell.key, 1
            while key in seen:
                k += 1
                key = f"{cell.key}#{k}"
            seen.add(key)
            out.append(replace(cell, key=key))
    return tuple(out)


def lines_of(paper: Paper) -> list[Line]:
    """The crib's lines of one paper, a question each."""
    return [Line(_who(paper), q.id, q.title, _cells(q)) for q in paper.exam.questions()]


# ------------------------------------------------------------------ fitting the page
# Columns are paragraph columns of widths estimated from their text, and a question's
# values are spread over as many tables as it takes (each repeating the row heads) to
# keep every table inside the text width; a value wider than its estimate wraps in its
# column rather than running past the margin.
TEXT_PT = 490.0  # the text width (A4, 1.8 cm margins: 495 pt), less slack for the estimates
SMALL_PT = 9.0  # the tables' font size (\small)
SEP_PT = 8.0  # between two columns (2 \tabcolsep)
MIN_PT, MAX_PT = 48.0, 200.0  # a value column's narrowest and widest
_FONT = re.compile(r"\\(?:ensuremath|footnotesize|small|textbf|texttt|emph|mathrm|mathbf|text)\b")


def _width(tex: str, size: float = SMALL_PT) -> float:
    """A generous estimate of the width of one line of LaTeX text, in pt."""
    s = _FONT.sub("", re.sub(r"\\penalty\d+\\relax", "", tex)).replace("{,}", ",").replace(r"\,", "")
    s = re.sub(r"\\[A-Za-z]+", "M", s)  # a symbol's macro: about one wide letter
    s = re.sub(r"[{}$^_]", "", s)
    narrow = sum(ch in ".,:;()[]|!' " for ch in s)
    wide = sum(ch.isupper() or ch in "MW×" for ch in s)
    minus = s.count("-")  # a minus sign in math is wider than a letter
    return size * (0.52 * len(s) - 0.22 * narrow + 0.25 * wide + 0.3 * minus)


def _longest_word(tex: str) -> float:
    return max((_width(w) for w in re.split(r"\s+", _FONT.sub("", tex)) if w), default=0.0)


def _column(width: float) -> str:
    return rf">{{\raggedright\arraybackslash}}p{{{width:.1f}pt}}"


def _table(
    who_heads: Sequence[str],
    who_widths: Sequence[float],
    cells: Sequence[tuple[CribCell, float]],
    rows: Sequence[Line],
) -> str:
    cols = "".join(_column(w) for w in (*who_widths, *(w for _, w in cells)))
    heads = " & ".join((*who_heads, *(rf"\bfseries {c.label}" for c, _ in cells)))
    out = [
        rf"{{\small\setlength{{\LTleft}}{{0pt}}\setlength{{\tabcolsep}}{{{SEP_PT / 2}pt}}"
        rf"\begin{{longtable}}{{@{{}}{cols}@{{}}}}\toprule",
        rf"{heads} \\ \midrule\endhead",
    ]
    for line in rows:
        mine = {c.key: c for c in line.cells}
        values = []
        for cell, _ in cells:
            own = mine.get(cell.key)
            if own is None:
                values.append("--")  # not on this paper (a table of fewer rows)
            else:
                accept = rf" {{\footnotesize {own.accept}}}" if own.accept else ""
                values.append(own.value + accept)
        out.append(" & ".join((*line.who, *values)) + r" \\")
    out.append(r"\bottomrule\end{longtable}}")
    return "\n".join(out)


def _question_tables(group: Sequence[Line], roster: bool) -> list[str]:
    # Every key any paper of the group has, in the order the first paper holding it lists it.
    order: dict[str, CribCell] = {}
    labels: dict[str, set[str]] = {}
    for line in group:
        for cell in line.cells:
            order.setdefault(cell.key, cell)
            labels.setdefault(cell.key, set()).add(str(cell.label))
    # A label that differs between papers (a table row named by a drawn layer) gives way
    # to the name every paper shares.
    order = {
        k: replace(c, label=c.place) if len(labels[k]) > 1 and c.place is not None else c
        for k, c in order.items()
    }
    if not order:
        return []
    who_heads = (r"\bfseries Id", r"\bfseries Name") if roster else (r"\bfseries Set",)
    caps = (64.0, 84.0) if roster else (60.0,)
    who_widths = [
        min(cap, max(_width(head), *(_width(line.who[k]) for line in group)))
        for k, (head, cap) in enumerate(zip(who_heads, caps, strict=True))
    ]
    budget = TEXT_PT - sum(w + SEP_PT for w in who_widths)
    sized = []
    for key, cell in order.items():
        widest = 0.0
        for line in group:
            own = next((c for c in line.cells if c.key == key), None)
            if own is not None:
                accept = _width(own.accept, 8.0) + SMALL_PT if own.accept else 0.0
                widest = max(widest, _width(own.value) + accept)
        head = 1.1 * _longest_word(cell.label)  # in bold
        width = min(budget - SEP_PT, MAX_PT, max(MIN_PT, widest, min(head, 100.0)))
        sized.append((cell, width))
    tables: list[list[tuple[CribCell, float]]] = []
    chunk: list[tuple[CribCell, float]] = []
    used = 0.0
    for cell, width in sized:
        if chunk and used + width + SEP_PT > budget:
            tables.append(chunk)
            chunk, used = [], 0.0
        chunk.append((cell, width))
        used += width + SEP_PT
    tables.append(chunk)
    return [_table(who_heads, who_widths, _widen(chunk, budget), group) for chunk in tables]


def _widen(chunk: list[tuple[CribCell, float]], budget: float) -> list[tuple[CribCell, float]]:
    # The room a table leaves goes to the columns whose heads would wrap, each up to its
    # head on one line, in proportion to what each lacks: fewer lines of head.
    room = budget - sum(w + SEP_PT for _, w in chunk)
    lack = [max(0.0, min(MAX_PT, 1.1 * _width(c.label)) - w) for c, w in chunk]
    if room <= 0 or not sum(lack):
        return chunk
    share = min(1.0, room / sum(lack))
    return [(c, w + share * more) for (c, w), more in zip(chunk, lack, strict=True)]


def crib_tex(
    spec_name: str,
    roster: bool,
    numbers: Sequence[str],
    lines: Sequence[Sequence[Line]],
    packages: Sequence[Package] = (),
) -> str:
    """The crib as one LaTeX document: `lines[k]` holds every paper's line for question k."""
    count = len(lines[0]) if lines else 0
    out = [
        crib_preamble(packages) + HEAD,
        rf"{{\Large\bfseries Crib: {escape(spec_name)}}}\par\smallskip",
        rf"{count} {'students' if roster else 'sets'}. For each question with values of its own on "
        r"each paper, each paper's values as its key prints them: numbers with the interval a grader "
        r"accepts (low -- high), a table's cells, the letters of the correct options in the paper's "
        r"order. Words, steps and the marking scheme: the model key.\par\bigskip",
    ]
    for number, rows in zip(numbers, lines, strict=True):
        by_id: dict[str, list[Line]] = {}
        for line in rows:
            by_id.setdefault(line.qid, []).append(line)
        for qid, group in by_id.items():
            tables = _question_tables(group, roster)
            if not tables:
                continue
            out.append(f"% qbgen: begin {qid}")
            out.append(rf"\subsection*{{Question {escape(number)}: {escape(group[0].title)}}}")
            if len(by_id) > 1:
                out.append(rf"{{\small (papers with {escape(qid)})}}\par")
            out.extend(tables)
            out.append(f"% qbgen: end {qid}")
    out.append(r"\end{document}")
    return "\n".join(out) + "\n"


class CribWriter(Streaming):
    """Writes crib.tex and crib.pdf for a build of several papers (none for one).

    Papers come a run at a time (`start`, `add`, `finish`; `write` does all three); of
    each it keeps a `Line` a question.
    """

    name = "crib"

    def start(self, folder: Path, count: int) -> None:
        """Begin a build of `count` papers into `folder`."""
        self.folder, self.count = folder, count
        self.spec_name, self.roster = "", False
        self.packages: tuple[Package, ...] = ()
        self.numbers: list[str] = []
        self.lines: list[list[Line]] = []

    def add(self, papers: Sequence[Paper]) -> None:
        """Keep the next papers' lines."""
        for paper in papers:
            if not self.numbers:
                self.spec_name, self.roster = paper.exam.spec_name, paper.exam.candidate is not None
                self.packages = paper.exam.packages
                self.numbers = [q.number for q in paper.exam.questions()]
                self.lines = [[] for _ in self.numbers]
            for k, line in enumerate(lines_of(paper)):
                self.lines[k].append(line)

    def finish(self) -> list[str]:
        """Typeset the crib; return its names (none for fewer than two papers)."""
        if self.count < 2:
            return []
        folder = self.folder
        work = folder / ".crib"
        work.mkdir(parents=True, exist_ok=True)
        tex = crib_tex(self.spec_name, self.roster, self.numbers, self.lines, self.packages)
        text = adapt(tex)  # names in any script
        split = split_names(text) if LUALATEX_MARK in text else None
        if split is not None:
            # The names pdflatex cannot set: typeset once by LuaLaTeX, placed as images,
            # so the crib (every student's name) stays pdflatex's, as the papers do.
            text, words = split
            (work / f"{NAMES_FILE}.tex").write_text(names_document(words), "utf-8")
            typeset(work / f"{NAMES_FILE}.tex")
        (work / TEX).write_text(text, "utf-8")
        fmt = ensure_format(crib_preamble(self.packages))
        typeset(work / TEX, fmt=fmt)
        typeset(work / TEX, fmt=fmt)  # longtable settles its column widths on the second run
        (work / TEX).replace(folder / TEX)
        (work / PDF).replace(folder / PDF)
        shutil.rmtree(work, ignore_errors=True)
        return [TEX, PDF]


__all__ = ["CribWriter", "Line", "crib_tex", "lines_of"]
