"""The table kind: a table printed blank in the exam (but its given cells), filled in the key.

Room: everything about table answers. Imports the kinds base, latex (and pylatex's
`Tabular` for the table itself).
"""

from __future__ import annotations

import math
import re
from typing import Any, ClassVar, Literal

from pydantic import Field
from pylatex import Tabular
from pylatex.utils import NoEscape

from ..latex import Tex, fmt
from ..scoring import Interval, Scoring
from .base import (
    AnswerInstance,
    AnswerSpec,
    CribCell,
    InstanceContext,
    KindHandler,
    LmsForm,
    LmsNumber,
    LmsWritten,
    interval_tex,
    is_number,
)

Cell = int | float | Tex  # a number, or a generator's trusted LaTeX ($128\times128$)


class TableAnswer(AnswerSpec):
    """A table printed blank in the exam (but its given columns) and filled in the key."""

    kind: Literal["table"]
    key: str = Field(description="Name of the rows (a list of lists) in the `solve` answers.")
    columns: list[str] = Field(min_length=1)
    given_columns: int = Field(default=1, ge=0, description="Leading columns shown in the exam.")
    given_rows: int = Field(default=0, ge=0, description="Leading rows shown whole in the exam.")
    caption: str = ""
    sigfigs: int | None = Field(
        default=None, ge=1, le=12, description="Significant figures of non-integer cells, zeros kept."
    )


class TableInstance(AnswerInstance):
    """The filled table of one paper."""

    kind: Literal["table"] = "table"
    key: str
    columns: tuple[Tex, ...]
    rows: tuple[tuple[Cell, ...], ...]
    given_columns: int = 0
    given_rows: int = 0
    caption: Tex = NoEscape("")
    sigfigs: int | None = None


# A head broken over lines for print (a nested tabular, \\): one line in an LMS label.
_NESTED = re.compile(r"\\begin\{tabular\}\{(?:[^{}]|\{[^{}]*\})*\}|\\end\{tabular\}")


def _one_line(head: str) -> str:
    return " ".join(_NESTED.sub("", head).replace("\\\\", " ").split())


def _third_figure(value: float) -> float:
    # Half a unit of the third significant figure: honest 3-figure rounding is inside.
    return 0.5 * 10.0 ** (math.floor(math.log10(abs(value))) - 2)


def _cell(value: Cell, sigfigs: int | None) -> str:
    if isinstance(value, str):
        return value
    return fmt(value, sigfigs)


def _table(inst: TableInstance, filled: bool) -> str:
    # A minipage keeps the table and its caption on one page.
    n = len(inst.columns)
    spec = "|" + "|".join(["l"] + ["c"] * (n - 1)) + "|"
    tab = Tabular(spec)
    tab.add_hline()
    tab.add_row([NoEscape(r"\textbf{" + c + "}") for c in inst.columns])
    tab.add_hline()
    for i, row in enumerate(inst.rows):
        cells = [
            NoEscape(_cell(v, inst.sigfigs))
            if filled or j < inst.given_columns or i < inst.given_rows
            else NoEscape(r"\hspace*{5em}")
            for j, v in enumerate(row)
        ]
        tab.add_row(cells)
        tab.add_hline()
    caption = f"\\par\\smallskip{{\\small {inst.caption}}}" if inst.caption else ""
    return (
        "\\par\\medskip\\noindent\\begin{minipage}{\\linewidth}\\centering"
        "\\renewcommand{\\arraystretch}{1.35}%\n"
        + tab.dumps()
        + caption
        + "\n\\end{minipage}\\par\\medskip\n"
    )


class Table(KindHandler[TableAnswer, TableInstance]):
    """Tables: blank but the given cells in the exam; shown once, filled, in the key."""

    name: ClassVar[str] = "table"
    rank: ClassVar[int] = 4
    spec_model = TableAnswer
    instance_model = TableInstance

    def room(self, inst: TableInstance) -> Literal["write", "given", "choice"]:
        """On paper, the blank table is the answer's room."""
        return "given"

    def keys(self, spec: TableAnswer) -> tuple[str, ...]:
        """A table reads its rows from `key`."""
        return (spec.key,)

    def instance(self, spec: TableAnswer, ctx: InstanceContext) -> TableInstance:
        """Require rows of as many cells as columns, each a number or LaTeX."""
        rows: Any = ctx.value(spec.key)
        if not (isinstance(rows, list | tuple) and all(isinstance(x, list | tuple) for x in rows)):
            raise ctx.fail(f"table answer {spec.key!r} must be a list of rows")
        bad = [x for x in rows if len(x) != len(spec.columns)]
        if bad:
            raise ctx.fail(
                f"table {spec.key!r} has a row of {len(bad[0])} cells for {len(spec.columns)} columns"
            )
        cells = [v for row in rows for v in row]
        odd = [v for v in cells if not (is_number(v) or isinstance(v, str))]
        if odd:
            raise ctx.fail(f"table {spec.key!r} has a cell that is neither a number nor text: {odd[0]!r}")
        return TableInstance(
            label=ctx.text("label"),
            key=spec.key,
            columns=tuple(NoEscape(c) for c in spec.columns),
            rows=tuple(tuple(NoEscape(v) if isinstance(v, str) else v for v in row) for row in rows),
            given_columns=spec.given_columns,
            given_rows=spec.given_rows,
            caption=ctx.text("caption", key=False),
            sigfigs=spec.sigfigs,
        )

    def figures(self, inst: TableInstance) -> set[int]:
        """The figures of the table's cells that are not integers."""
        return {inst.sigfigs or 4}

    def _cells(self, inst: TableInstance) -> list[tuple[str, Tex, Any]]:
        # Each cell the student fills: (answer id, label, value), in reading order.
        out = []
        heads = [_one_line(str(c)) for c in inst.columns]
        for r, row in enumerate(inst.rows):
            if r < inst.given_rows:
                continue
            name = str(row[0]) if inst.given_columns else f"row {r + 1}"
            for c, cell in enumerate(row):
                if c >= inst.given_columns:
                    out.append((f"{inst.key}[{r}][{c}]", NoEscape(f"{name}, {heads[c]}"), cell))
        return out

    def scoring(self, inst: TableInstance) -> dict[str, Scoring]:
        """Each number the student fills: exact if an integer, else to 3 figures.

        A cell of text (dimensions, a label) is marked by a person.
        """
        out: dict[str, Scoring] = {}
        for ident, _label, cell in self._cells(inst):
            if isinstance(cell, str):
                continue
            value = float(cell)
            half = 0.0 if isinstance(cell, int) or value == 0 else _third_figure(value)
            out[ident] = Interval(value=value, low=value - half, high=value + half)
        return out

    def lms(self, inst: TableInstance) -> tuple[LmsForm, ...]:
        """Each cell the student fills: a number by its scoring, or a written entry."""
        scoring = self.scoring(inst)
        out: list[LmsForm] = []
        for ident, label, cell in self._cells(inst):
            marked = scoring.get(ident)
            if isinstance(marked, Interval):
                out.append(LmsNumber(ident, label, marked))
            else:
                out.append(LmsWritten(label, NoEscape(cell)))
        return tuple(out)

    def crib_cells(self, inst: TableInstance) -> tuple[CribCell, ...]:
        """Every cell the student fills, as the key prints it, and what a grader accepts.

        A cell is named by its table (the answer's label, else its first column's head:
        a question may hold several tables of the same rows), its row and its column; its
        `place` counts rows instead, for a row whose name differs between papers.
        """
        scoring = self.scoring(inst)
        heads = [_one_line(str(c)) for c in inst.columns]
        table = _one_line(str(inst.label)) or heads[0]
        figures = (inst.sigfigs or 4) + 1
        out = []
        for ident, label, cell in self._cells(inst):
            marked = scoring.get(ident)
            accept = interval_tex(marked.low, marked.high, figures) if isinstance(marked, Interval) else ""
            r, c = (int(x) for x in ident[len(inst.key) :].strip("[]").split("]["))
            out.append(
                CribCell(
                    ident,
                    NoEscape(f"{table} {label}"),
                    _cell(cell, inst.sigfigs),
                    accept,
                    place=NoEscape(f"{table}, row {r + 1}: {heads[c]}"),
                )
            )
        return tuple(out)

    def latex_exam(self, inst: TableInstance, *, key: bool) -> str:
        """The blank table; in the key it is shown once, filled, with the answers instead."""
        return "" if key else _table(inst, filled=False)

    def latex_key(self, inst: TableInstance) -> str:
        """The filled table, after its label."""
        head = f"\\textbf{{{inst.label}:}}\\par\n" if inst.label else ""
        return head + _table(inst, filled=True)

    def html_key(self, inst: TableInstance) -> str:
        """The filled table as a plain tabular (no minipage, heads on one line), its caption after."""
        rows = [[f"\\textbf{{{_one_line(str(c))}}}" for c in inst.columns]]
        rows += [[_cell(v, inst.sigfigs) for v in row] for row in inst.rows]
        body = "".join(" & ".join(r) + " \\\\ \\hline\n" for r in rows)
        spec = "|" + "|".join(["l"] + ["c"] * (len(inst.columns) - 1)) + "|"
        head = f"\\textbf{{{inst.label}:}}\n\n" if inst.label else ""
        caption = f"\n\n{inst.caption}\n" if inst.caption else ""
        return f"{head}\\begin{{tabular}}{{{spec}}}\\hline\n{body}\\end{{tabular}}{caption}"

    skeleton: ClassVar[str] = """\
generator: {module}.py
original: {{n: 3}}
prompt: |
  TODO The question. Fill in the table for $n = \\VAR{{p.n}}$.
answers:
  - kind: table
    key: rows          # solve()'s answers["rows"]: a list of rows
    columns: [$k$, $k^2$, $k^3$]
    given_columns: 1   # shown in the exam; the rest is blank there, filled in the key
rubric:
  - marks: 1
    text: TODO The squares.
  - marks: 1
    text: TODO The cubes.
"""

    generator_skeleton: ClassVar[str | None] = '''\
"""Generator for {id}: draws the numbers, solves them, checks them another way."""

import numpy as np
from pydantic import Field

from qbgen import authoring
from qbgen.authoring import Solution, agree


class Params(authoring.Params):
    # TODO What is drawn, with the ranges that keep the question well posed.
    n: int = Field(ge=2, le=6)


def sample(rng: np.random.Generator) -> Params:
    return Params(n=int(rng.integers(2, 7)))


def solve(p: Params) -> Solution:
    # TODO Every answer the key shows: here one row per k, cells as numbers or LaTeX.
    ks = np.arange(1, p.n + 1)
    return Solution(answers={{"rows": np.stack([ks, ks**2, ks**3], axis=1)}})


def check(p: Params, s: Solution) -> None:
    # TODO Re-derive every answer by ANOTHER route (here: repeated multiplication).
    want = []
    for k in range(1, p.n + 1):
        square = sum(k for _ in range(k))
        want.append([k, square, sum(square for _ in range(k))])
    agree("rows", want, s.answers["rows"])
'''


HANDLER = Table()
