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
