"""`qbgen new`: write a question skeleton that validates and builds as it is.

Room: the skeleton texts of each kind and writing them into a bank. Imports errors,
models and bank (to refuse an id already taken). The skeletons are real questions:
`qbgen validate` passes on each the moment it is written; comments show the author
where to write.
"""

from __future__ import annotations

from pathlib import Path

from .bank import load_bank
from .errors import InputError
from .models import KINDS

HEAD = """\
# yaml-language-server: $schema={schema}
# A new question. Replace each TODO; `qbgen preview {id}` shows it as a PDF,
# `qbgen validate -q {id}` checks it. The format: docs/AUTHORING.md.
id: {id}
title: TODO a short title
topic: {topic}
tags: [{topic}]
kind: {kind}
marks: 2
sources: []          # where it was asked, e.g. [paper-b:7]
"""

BODIES = {
    "text": """\
prompt: |
  TODO The question, in LaTeX: $x^2$, \\emph{{...}}.
answers:
  - kind: text
    label: Model answer
    text: |
      TODO The answer a grader compares a script with.
rubric:              # marks must add up to `marks`
  - marks: 1
    text: TODO What earns the first mark.
  - marks: 1
    text: TODO What earns the second; common wrong answers and what they earn.
""",
    "choice": """\
prompt: |
  TODO The question. Which of the following ...?
answers:
  - kind: choice
    layout: inline   # or list
    shuffle: true    # options may be shuffled per set when the spec says shuffle_options
    options:
      - text: TODO first option
      - text: TODO the right option
        correct: true
      - text: TODO third option
    explanation: |
      TODO Why the right option is right and the others are not.
rubric:
  - marks: 1
    text: TODO The right option.
  - marks: 1
    text: TODO The reason.
""",
    "code": """\
prompt: |
  TODO The question about this code:
  \\begin{{lstlisting}}[language=Python]
  def f(x):
      return x + 1
  \\end{{lstlisting}}
answers:
  - kind: code
    label: Corrected code
    language: Python
    code: |
      def f(x):
          return x + 2
    explanation: TODO What was wrong.
rubric:
  - marks: 1
    text: TODO Finds the error.
  - marks: 1
    text: TODO Corrects it.
""",
    "numeric": """\
generator: {module}.py
original: {{a: 3, b: 4}}   # the paper's own values (--original)
prompt: |
  TODO The question, with its numbers drawn: what is $\\VAR{{p.a}} \\times \\VAR{{p.b}}$?
answers:
  - kind: numeric
    key: product       # a name in solve()'s answers
    label: TODO What the number is
rubric:
  - marks: 1
    text: TODO The method.
  - marks: 1
    text: TODO The right value, \\VAR{{a.product}}.
""",
    "table": """\
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
""",
}

GENERATORS = {
    "numeric": '''\
"""Generator for {id}: draws the numbers, solves them, checks them another way."""

import numpy as np
from pydantic import Field

from qbgen import authoring
from qbgen.authoring import Solution, agree


class Params(authoring.Params):
    # TODO What is drawn, with the ranges that keep the question well posed.
    a: int = Field(ge=2, le=12)
    b: int = Field(ge=2, le=12)


def sample(rng: np.random.Generator) -> Params:
    return Params(a=int(rng.integers(2, 13)), b=int(rng.integers(2, 13)))


def solve(p: Params) -> Solution:
    # TODO Every answer the key shows, and the worked steps (LaTeX, one item a line).
    product = p.a * p.b
    return Solution(answers={{"product": product}}, steps=[rf"${{p.a}} \\times {{p.b}} = {{product}}$."])


def check(p: Params, s: Solution) -> None:
    # TODO Re-derive every answer by ANOTHER route (here: repeated addition).
    agree("product", sum(p.a for _ in range(p.b)), s.answers["product"])
''',
    "table": '''\
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
''',
}


def new_question(bank: Path, qid: str, kind: str, topic: str = "general") -> list[Path]:
    """Write the skeleton of question `qid` of `kind` under `bank/topic/`; return its files."""
    if kind not in KINDS:
        raise InputError(f"no kind {kind!r} (kinds: {', '.join(KINDS)})", field="kind")
    if not qid or not all(c.isalnum() and c.islower() or c.isdigit() or c == "-" for c in qid):
        raise InputError(f"{qid!r}: an id is lower-case letters, digits and hyphens", field="id")
    if not topic.replace("-", "").replace("_", "").isalnum() or topic.startswith(("_", ".")):
        raise InputError(f"{topic!r} is not a topic folder name", field="topic")
    bank.mkdir(parents=True, exist_ok=True)
    if any(bank.iterdir()):
        existing = load_bank(bank)
        if qid in existing.questions:
            raise InputError(f"question {qid!r} already exists", file=existing.questions[qid].path)
    folder = bank / topic
    target = folder / f"{qid}.yaml"
    module = qid.replace("-", "_")
    files = {target: HEAD.format(id=qid, topic=topic, kind=kind, schema="../question.schema.json")
             + BODIES[kind].format(module=module)}  # fmt: skip
    if kind in GENERATORS:
        files[folder / f"{module}.py"] = GENERATORS[kind].format(id=qid)
    for path in files:
        if path.exists():
            raise InputError("file exists; not overwriting it", file=path)
    folder.mkdir(parents=True, exist_ok=True)
    for path, text in files.items():
        path.write_text(text, "utf-8")
    return list(files)
