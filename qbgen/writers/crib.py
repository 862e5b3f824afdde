"""The crib writer: per question, every set's or student's own numbers on a few lines.

Room: `crib.pdf` (and `crib.tex`) of a build of several papers. Imports kinds, latex,
models, typeset. A grader marks scripts question by question with one model key
for the words and the marking scheme; the crib gives, for each question with numbers,
a table of every paper's answers as its key prints them and the interval a grader
accepts: dozens of students a page, instead of a key per student.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..kinds import KINDS
from ..latex import escape
from ..models import Package, Paper, QuestionInstance
from ..render import package_lines
from ..scripts import PDFLATEX_FONTS, adapt, symbol_definitions
from ..typeset import ensure_format, typeset
from .streaming import Streaming

TEX = "crib.tex"
PDF = "crib.pdf"
PER_TABLE = 3  # answers side by side in one table (a value and its interval each)

PREAMBLE = (
    "\\documentclass[10pt]{article}\n\\usepackage[a4paper,margin=1.8cm]{geometry}\n"
    + PDFLATEX_FONTS
    + "\n\\usepackage{amsmath,amssymb,longtable,booktabs}\n"
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


def _who(paper: Paper) -> str:
    exam = paper.exam
    if exam.candidate is not None:
        return f"{escape(exam.candidate.id)} & {escape(exam.candidate.name)}"
    return escape(exam.variant or "")


Entry = tuple[str, str, str, str]  # (key, label, value as the key prints it, interval)


@dataclass(frozen=True)
class Line:
    """One paper's answers to one question: all the crib keeps of a paper."""

    who: str
    qid: str
    title: str
    entries: tuple[Entry, ...]


def _entries(q: QuestionInstance) -> tuple[Entry, ...]:
    # Working values the paper does not ask for (`asked: false`) are listed too: graders
    # give method marks by them.
    return tuple(e for a in q.all_answers() for e in KINDS[a.kind].crib(a))


def lines_of(paper: Paper) -> list[Line]:
    """The crib's lines of one paper, a question each."""
    return [Line(_who(paper), q.id, q.title, _entries(q)) for q in paper.exam.questions()]


def crib_tex(
    spec_name: str,
    roster: bool,
    numbers: Sequence[str],
    lines: Sequence[Sequence[Line]],
    packages: Sequence[Package] = (),
) -> str:
    """The crib as one LaTeX document: `lines[k]` holds every paper's line for question k."""
    who = r"\textbf{Id} & \textbf{Name}" if roster else r"\textbf{Set}"
    count = len(lines[0]) if lines else 0
    out = [
        crib_preamble(packages) + HEAD,
        rf"{{\Large\bfseries Crib: {escape(spec_name)}}}\par\smallskip",
        rf"{count} {'students' if roster else 'sets'}. For each question with numbers, each paper's "
        r"answers as its key prints them, and the interval a grader accepts (low -- high). "
        r"Words, steps and the marking scheme: the model key.\par\bigskip",
    ]
    for number, rows in zip(numbers, lines, strict=True):
        by_id: dict[str, list[Line]] = {}
        for line in rows:
            by_id.setdefault(line.qid, []).append(line)
        for qid, group in by_id.items():
            entries = group[0].entries
            if not entries:
                continue
            out.append(rf"\subsection*{{Question {escape(number)}: {escape(group[0].title)}}}")
            if len(by_id) > 1:
                out.append(rf"{{\small (papers with {escape(qid)})}}\par")
            for start in range(0, len(entries), PER_TABLE):
                chunk = entries[start : start + PER_TABLE]
                cols = ("ll" if roster else "l") + "rl" * len(chunk)
                out.append(
                    rf"{{\small\setlength{{\LTleft}}{{0pt}}\begin{{longtable}}{{@{{}}{cols}@{{}}}}\toprule"
                )
                # A long label wraps in its column's width; the values stay on one line.
                heads = " & ".join(
                    rf"\multicolumn{{2}}{{p{{0.27\textwidth}}}}{{\raggedright {label}}}"
                    for _, label, _, _ in chunk
                )
                out.append(rf"{who} & {heads} \\ \midrule\endhead")
                for line in group:
                    mine = {key: (value, interval) for key, _, value, interval in line.entries}
                    cells = " & ".join(
                        rf"{mine[key][0]} & {{\footnotesize {mine[key][1]}}}" for key, _, _, _ in chunk
                    )
                    out.append(rf"{line.who} & {cells} \\")
                out.append(r"\bottomrule\end{longtable}}")
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
        (work / TEX).write_text(adapt(tex), "utf-8")  # names in any script
        fmt = ensure_format(crib_preamble(self.packages))
        typeset(work / TEX, fmt=fmt)
        typeset(work / TEX, fmt=fmt)  # longtable settles its column widths on the second run
        (work / TEX).replace(folder / TEX)
        (work / PDF).replace(folder / PDF)
        shutil.rmtree(work, ignore_errors=True)
        return [TEX, PDF]


__all__ = ["CribWriter", "Line", "crib_tex", "lines_of"]
