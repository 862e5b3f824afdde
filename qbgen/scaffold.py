"""`qbgen new`: write a question skeleton that validates and builds as it is.

Room: writing a kind's skeleton (each kind keeps its own) into a bank, and the question
schema its modeline names. Imports errors, kinds, models and bank (to refuse an id
already taken). The skeletons are real questions:
`qbgen validate` passes on each the moment it is written; comments show the author
where to write.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from .bank import load_bank
from .errors import InputError
from .kinds import KINDS
from .models import json_schemas

HEAD = """\
# yaml-language-server: $schema={schema}
# A new question. Replace each TODO; `qbgen preview {id}` shows it as a PDF,
# `qbgen validate -q {id}` checks it. The format: AUTHORING.md (`qbgen new` says where).
id: {id}
title: TODO a short title
topic: {topic}
tags: [{topic}]
# Its marks are its marking scheme's total, and its kind its answers' ({kind}):
# neither is said twice (give `marks:` and it is checked against the scheme).
sources: []          # where it was asked, e.g. [paper-b:7]
"""


def new_question(
    bank: Path, qid: str, kind: str, topic: str = "general", others: Sequence[Path] = ()
) -> list[Path]:
    """Write the skeleton of question `qid` of `kind` under `bank/topic/`; return its files.

    `others` are the run's other banks: an id taken there is refused too, since one id
    in two banks of a run is an error.
    """
    if kind not in KINDS:
        raise InputError(f"no kind {kind!r} (kinds: {', '.join(KINDS)})", field="kind")
    if not qid or not all(c.isalnum() and c.islower() or c.isdigit() or c == "-" for c in qid):
        raise InputError(f"{qid!r}: an id is lower-case letters, digits and hyphens", field="id")
    if not topic.replace("-", "").replace("_", "").isalnum() or topic.startswith(("_", ".")):
        raise InputError(f"{topic!r} is not a topic folder name", field="topic")
    try:
        bank.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError.unwritable(bank, exc, "the bank folder") from None
    if any(bank.iterdir()) or others:
        existing = load_bank([bank, *(b for b in others if b.resolve() != bank.resolve())])
        if qid in existing.questions:
            raise InputError(f"question {qid!r} already exists", file=existing.questions[qid].path)
    folder = bank / topic
    target = folder / f"{qid}.yaml"
    module = qid.replace("-", "_")
    if module[0].isdigit():  # a module name cannot start with a digit: 2d-conv -> gen_2d_conv.py
        module = f"gen_{module}"
    handler = KINDS[kind]
    files = {target: HEAD.format(id=qid, topic=topic, kind=kind, schema="../question.schema.json")
             + handler.skeleton.format(module=module)}  # fmt: skip
    if handler.generator_skeleton is not None:
        files[folder / f"{module}.py"] = handler.generator_skeleton.format(id=qid)
    for path in files:
        if path.exists():
            raise InputError("file exists; not overwriting it", file=path)
    # The modeline's schema, beside the topic folders, if the bank has none yet.
    schema = bank / "question.schema.json"
    if not schema.exists():
        files[schema] = json.dumps(json_schemas()["question"], indent=2) + "\n"
    written: list[Path] = []
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for path, text in files.items():
            path.write_text(text, "utf-8")
            written.append(path)
    except OSError as exc:
        for path in written:  # all of the skeleton or none of it
            path.unlink()
        raise InputError.unwritable(folder, exc, "the skeleton") from None
    return list(files)


# --------------------------------------------------------------------------- qbgen init

STYLE = r"""\#{ {name}'s house style, made by `qbgen init`: the institute and the course centred,
   the exam's name, duration left and maximum marks right; on the paper (not the key,
   nor a roster's paper, which prints the student), a box for the name and roll number.
   Long titles wrap: nothing here runs past the margin. Edit freely: the contract of a
   style is `setup()` and `paper(exam, answers)` (AUTHORING.md). }
\#{ Its names: questions 1, 2, ... through every section, parts 1a, 1b. }
\BLOCK{set numbering = {"question": "{n}", "part": "{question}{part:a}"}}
\BLOCK{import "common/body.tex.j2" as b}
\BLOCK{import "common/header.tex.j2" as h}
\BLOCK{import "common/front.tex.j2" as f}
\BLOCK{macro mk(m)}\VAR{m|marks} mark\BLOCK{if m != 1}s\BLOCK{endif}\BLOCK{endmacro}
\BLOCK{macro setup()}
\renewcommand{\partlabel}{(\thepartno)}
\BLOCK{endmacro}
\BLOCK{macro paper(exam, answers)}
\VAR{h.header(exam, answers)|tex}
\begin{center}
\BLOCK{if exam.institute}
\parbox{\linewidth}{\centering\Large\bfseries \VAR{exam.institute}}\par\medskip
\BLOCK{endif}
\parbox{\linewidth}{\centering\large\bfseries \VAR{exam.course}}\par
\BLOCK{if exam.title}
\smallskip\parbox{\linewidth}{\centering \VAR{exam.title}\BLOCK{if answers}: Answer Key\BLOCK{endif}}\par
\BLOCK{elif answers}
\smallskip{\bfseries Answer Key}\par
\BLOCK{endif}
\BLOCK{if exam.date}
\smallskip{\VAR{exam.date}}\par
\BLOCK{endif}
\end{center}
\medskip
\noindent{}\BLOCK{if exam.duration}Time: \VAR{exam.duration}\BLOCK{endif}\hfill
Maximum marks: \VAR{exam.max_marks|marks}\par
\BLOCK{if not answers and not exam.candidate and not exam.on_paper}
\medskip
\noindent\fbox{\parbox[c][1.6em][c]{\dimexpr\linewidth-2\fboxsep-2\fboxrule}{%
Name:\hspace{0.5\linewidth}Roll No.:}}\par
\BLOCK{endif}
\VAR{f.candidate_and_instructions(exam)|tex}
\medskip
\begin{questions}
\BLOCK{for s in exam.sections}
\BLOCK{if s.title}
\fullwidth{\textbf{\VAR{s.title}}}
\BLOCK{endif}
\BLOCK{for q in s.questions}
\VAR{b.question_body(q, answers, "\\question", "parts", "\\part", mk)|tex}
\BLOCK{endfor}
\BLOCK{endfor}
\end{questions}
\BLOCK{endmacro}
"""

GITIGNORE = "output/\n__pycache__/\n*.pyc\n.qbgen-*\n"

WORKFLOW = """\
# qbgen CI for this bank (made by `qbgen init`): every question validated, every
# spec built, on each push. Keep the .yml extension: qbgen reads *.yaml as questions.
name: qbgen
on: [push, pull_request, workflow_dispatch]
permissions:
  contents: read
jobs:
  validate-and-build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: "3.11"
      - name: Install TeX Live
        run: |
          sudo apt-get update
          sudo DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \\
            texlive-latex-base texlive-latex-recommended texlive-latex-extra \\
            texlive-fonts-recommended texlive-pictures lmodern poppler-utils pandoc
      - name: Install qbgen
        run: pip install qbgen   # or a wheel or git URL of the version you use
      - name: Validate the bank
        run: qbgen validate --bank . --seeds 200 --compile
"""


def _slug(text: str) -> str:
    out = "".join(c.lower() if c.isalnum() else "-" for c in text).strip("-")
    while "--" in out:
        out = out.replace("--", "-")
    return out or "exam"


def init_bank(
    folder: Path,
    *,
    institute: str = "",
    course: str = "Course",
    code: str = "",
    exam: str = "Examination",
    duration: str = "",
    instructions: Sequence[str] = (),
) -> list[Path]:
    """Start a bank in `folder` (new or empty): its files, written whole or not at all.

    bank.yaml, `_lib/`, a house style from the header given, a sample question of each
    shipped kind (they validate as they are), a first spec picking them, a .gitignore
    and a CI workflow. Returns the files written.
    """
    import os
    import shutil
    import tempfile

    import yaml

    from .kinds import MODULES

    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise InputError("not an empty folder: qbgen init starts a bank in a new or empty one", file=folder)
    name = _slug(folder.resolve().name)
    style = _slug(code or course)[:40].strip("-") or "house"
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.qbgen-init-", dir=folder.parent))
    except OSError as exc:
        raise InputError.unwritable(folder, exc, "the bank folder") from None
    try:
        samples = []
        for kind in MODULES:
            qid = f"sample-{kind}"
            new_question(tmp, qid, kind, topic="samples")
            samples.append(qid)
        marks = sum(load_bank([tmp]).get(q).question.marks for q in samples)
        spec = {
            "institute": institute,
            "course": f"{code} {course}".strip(),
            "title": exam,
            "duration": duration,
            "max_marks": marks,
            "instructions": list(instructions),
            "style": style,
            "sections": [{"questions": samples}],
        }
        files = {
            "bank.yaml": yaml.safe_dump({"name": name}, allow_unicode=True),
            "_lib/__init__.py": '"""Code the bank\'s generators share: `from _lib import ...`."""\n',
            f"templates/{style}/paper.tex.j2": STYLE.replace("{name}", institute or name),
            f"exams/{_slug(exam)}.yaml": "# The first exam spec (AUTHORING.md: an exam spec).\n"
            + yaml.safe_dump(spec, allow_unicode=True, sort_keys=False),
            ".gitignore": GITIGNORE,
            ".github/workflows/qbgen.yml": WORKFLOW,
        }
        for rel, text in files.items():
            (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
            (tmp / rel).write_text(text, "utf-8")
        load_bank([tmp])  # it loads as written
        if folder.exists():
            folder.rmdir()  # empty: checked above
        os.rename(tmp, folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return sorted(p for p in folder.rglob("*") if p.is_file())
