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
from pathlib import Path

from ..kinds import KINDS
from ..latex import escape
from ..models import Paper, QuestionInstance
from ..typeset import ensure_format, typeset

TEX = "crib.tex"
PDF = "crib.pdf"
PER_TABLE = 3  # answers side by side in one table (a value and its interval each)

PREAMBLE = r"""\documentclass[10pt]{article}
\usepackage[a4paper,margin=1.8cm]{geometry}
\usepackage[T1]{fontenc}
\usepackage{lmodern,amsmath,amssymb,longtable,booktabs}
\setlength{\parindent}{0pt}
"""
# The preamble loads from a cached format (typeset.ensure_format), as a paper's does.
HEAD = (
    PREAMBLE
    + r"""\csname endofdump\endcsname
\pdfinfo{/Creator (qbgen) /Producer (qbgen)}
\begin{document}
"""
)


def _who(paper: Paper) -> str:
    exam = paper.exam
    if exam.candidate is not None:
        return f"{escape(exam.candidate.id)} & {escape(exam.candidate.name)}"
    return escape(exam.variant or "")


def _entries(q: QuestionInstance) -> list[tuple[str, str, str, str]]:
    return [e for a in q.all_answers() if a.asked for e in KINDS[a.kind].crib(a)]


def crib_tex(papers: Sequence[Paper]) -> str:
    """The crib as one LaTeX document."""
    first = papers[0].exam
    roster = first.candidate is not None
    who = r"\textbf{Id} & \textbf{Name}" if roster else r"\textbf{Set}"
    out = [
        HEAD,
        rf"{{\Large\bfseries Crib: {escape(first.spec_name)}}}\par\smallskip",
        rf"{len(papers)} {'students' if roster else 'sets'}. For each question with numbers, each paper's "
        r"answers as its key prints them, and the interval a grader accepts (low -- high). "
        r"Words, steps and the marking scheme: the model key.\par\bigskip",
    ]
    for index, q0 in enumerate(first.questions()):
        rows = [(p, p.exam.questions()[index]) for p in papers]
        by_id: dict[str, list[tuple[Paper, QuestionInstance]]] = {}
        for paper, q in rows:
            by_id.setdefault(q.id, []).append((paper, q))
        for qid, group in by_id.items():
            entries = _entries(group[0][1])
            if not entries:
                continue
            out.append(rf"\subsection*{{Question {escape(q0.number)}: {escape(group[0][1].title)}}}")
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
                for paper, q in group:
                    mine = {key: (value, interval) for key, _, value, interval in _entries(q)}
                    cells = " & ".join(
                        rf"{mine[key][0]} & {{\footnotesize {mine[key][1]}}}" for key, _, _, _ in chunk
                    )
                    out.append(rf"{_who(paper)} & {cells} \\")
                out.append(r"\bottomrule\end{longtable}}")
    out.append(r"\end{document}")
    return "\n".join(out) + "\n"


class CribWriter:
    """Writes crib.tex and crib.pdf for a build of several papers (none for one)."""

    name = "crib"

    def write(self, papers: Sequence[Paper], folder: Path) -> list[str]:
        """Typeset the crib into `folder`; return its names."""
        if len(papers) < 2:
            return []
        work = folder / ".crib"
        work.mkdir(parents=True, exist_ok=True)
        (work / TEX).write_text(crib_tex(papers), "utf-8")
        fmt = ensure_format(PREAMBLE)
        typeset(work / TEX, fmt=fmt)
        typeset(work / TEX, fmt=fmt)  # longtable settles its column widths on the second run
        (work / TEX).replace(folder / TEX)
        (work / PDF).replace(folder / PDF)
        shutil.rmtree(work, ignore_errors=True)
        return [TEX, PDF]


__all__ = ["CribWriter", "crib_tex"]
