"""What an LMS shows students is clean, and grades as the paper does.

A skeleton's default label ("Model answer", "Corrected code") heads the key's answer and
asks nothing: it is not in the question text, and graders read it once. Canvas asks a
table's values in one question of blanks; every question's points add up to the paper's
marks. A cloze's labels are not paragraphs inside paragraphs. A choice that asks for its
reason asks for it as a written answer of its own, with its share of the marks.
"""

from __future__ import annotations

import json
import math
import re
import zipfile

import pytest
from lxml import etree

from qbgen.kinds import KINDS
from qbgen.kinds.choice import REASON
from qbgen.writers.lms import safe

from .conftest import cli, needs_tex
from .test_moodle import CLOZE

pytestmark = needs_tex

QTI12 = "{http://www.imsglobal.org/xsd/ims_qtiasiv1p2}"
QTI21 = "{http://www.imsglobal.org/xsd/imsqti_v2p1}"
SPECS = (
    "paper-a",
    "paper-b",
)  # paper A has tables, paper B the "Corrected code"; both a choice with a reason
DEFAULTS = {h.default_label for h in KINDS.values() if h.default_label}


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("lms")
    out = {}
    for spec in SPECS:
        for to in ("moodle", "canvas", "qti21"):
            out[spec, to] = tmp / f"{spec}-{to}"
            r = cli("export", spec, "--to", to, "--variants", "2", "--out", out[spec, to])
            assert r.returncode == 0, r.stderr
    return out


def _manifests(folder):
    return {code: json.loads((folder / code / "manifest.json").read_text("utf-8")) for code in "AB"}


def _moodle(folder) -> list[etree._Element]:
    root = etree.fromstring((folder / "quiz.xml").read_bytes())
    return [q for q in root.iter("question") if q.get("type") != "category"]


def _canvas(folder) -> dict[str, list[etree._Element]]:
    z = zipfile.ZipFile(folder / "canvas.zip")
    return {code: list(etree.fromstring(z.read(f"{code}/{code}.xml")).iter(f"{QTI12}item")) for code in "AB"}


def _field(item, label: str) -> str:
    for f in item.iter(f"{QTI12}qtimetadatafield"):
        if f.findtext(f"{QTI12}fieldlabel") == label:
            return f.findtext(f"{QTI12}fieldentry")
    raise KeyError(label)


def _labelled(bank) -> dict[str, set[str]]:
    # Each bank question with an answer labelled with its kind's default label: the labels.
    out: dict[str, set[str]] = {}
    for qid, bq in bank.questions.items():
        for a in bq.question.all_answers():
            if a.label and a.label == KINDS[a.kind].default_label:
                out.setdefault(qid, set()).add(a.label)
    return out


def test_a_default_label_is_not_asked_and_graders_read_it_once(exports, bank):
    labelled = _labelled(bank)
    seen = set()
    for spec in SPECS:
        for q in _moodle(exports[spec, "moodle"]):
            qid = q.findtext("name/text").split()[-1]
            for label in labelled.get(qid, ()):
                seen.add(label)
                assert label not in q.findtext("questiontext/text"), (spec, qid, label)
                info = q.findtext("graderinfo/text") or ""
                assert info.count(label) <= 1, (spec, qid, label, info)
        for items in _canvas(exports[spec, "canvas"]).values():
            for item in items:
                qid = item.get("title").split()[2]
                for label in labelled.get(qid, ()):
                    assert label not in item.findtext(f".//{QTI12}mattext"), (spec, qid, label)
    assert seen == DEFAULTS  # each default label is exercised by the shipped bank


def test_canvas_asks_a_tables_values_in_one_question_of_blanks(exports, bank):
    tables = {
        qid: [a.key for a in bq.question.all_answers() if a.kind == "table"]
        for qid, bq in bank.questions.items()
    }
    folder = exports["paper-a", "canvas"]
    checked = 0
    for code, manifest in _manifests(folder).items():
        items = _canvas(folder)[code]
        for q in manifest["questions"]:
            if not tables.get(q["id"]):
                continue
            for item_name, contract in q["scoring"].items():
                mine = [
                    i for i in items if i.get("ident").startswith(safe(f"paper-a:{code}:{item_name}") + "-")
                ]
                blanks = [i for i in mine if _field(i, "question_type") == "fill_in_multiple_blanks_question"]
                assert len(blanks) == 1, (code, item_name, [_field(i, "question_type") for i in mine])
                cells = [
                    s
                    for key, s in contract["answers"].items()
                    if s["rule"] == "interval" and key.split("[")[0] in tables[q["id"]]
                ]
                lids = list(blanks[0].iter(f"{QTI12}response_lid"))
                assert len(lids) == len(cells) > 1
                text = blanks[0].findtext(f".//{QTI12}mattext")
                for lid, cell in zip(lids, cells, strict=True):
                    name = lid.get("ident").removeprefix("response_")
                    assert f"[{name}]" in text  # the blank is in the question's text
                    accepted = [float(t) for t in lid.xpath(".//*[local-name()='mattext']/text()")[1:]]
                    assert accepted and all(cell["low"] <= x <= cell["high"] for x in accepted), (
                        cell,
                        accepted,
                    )
                    assert any(math.isclose(x, cell["value"], rel_tol=1e-3, abs_tol=1e-12) for x in accepted)
                    checked += 1
    assert checked > 20


def test_every_questions_points_are_the_papers_marks(exports):
    for spec in SPECS:
        moodle: dict[str, float] = {}
        for q in _moodle(exports[spec, "moodle"]):
            item = q.findtext("idnumber").removesuffix(":written")
            moodle[item] = moodle.get(item, 0.0) + float(q.findtext("defaultgrade"))
        canvas = _canvas(exports[spec, "canvas"])
        for code, manifest in _manifests(exports[spec, "canvas"]).items():
            for q in manifest["questions"]:
                for item, marks in q["items"].items():
                    points = [
                        float(_field(i, "points_possible"))
                        for i in canvas[code]
                        if i.get("ident").startswith(safe(f"{spec}:{code}:{item}") + "-")
                    ]
                    assert math.isclose(sum(points), marks), (spec, code, item, points, marks)
                    # Half marks, as the paper gives them (not 5/7 of a mark each).
                    assert all((2 * p).is_integer() for p in points), (spec, code, item, points)
                    assert math.isclose(moodle[f"{spec}:{code}:{item}"], marks), (spec, code, item)


def _depth(html: str) -> int:
    deepest = depth = 0
    for closing in re.findall(r"<(/?)p[\s>]", html):
        depth += -1 if closing else 1
        deepest = max(deepest, depth)
    return deepest


def test_no_paragraph_is_inside_another(exports):
    clozes = 0
    for spec in SPECS:
        for q in _moodle(exports[spec, "moodle"]):
            text = q.findtext("questiontext/text")
            clozes += q.get("type") == "cloze"
            # A cloze blank's feedback is its own HTML, not part of the text: left out.
            assert _depth(CLOZE.sub("[blank]", text)) == 1, (spec, q.findtext("idnumber"), text[-600:])
        for items in _canvas(exports[spec, "canvas"]).values():
            for item in items:
                assert _depth(item.findtext(f".//{QTI12}mattext")) == 1, item.get("ident")
    assert clozes > 5


def test_a_choice_that_asks_its_reason_asks_it_as_a_written_answer(exports, bank):
    reasoned = {
        qid
        for qid, bq in bank.questions.items()
        for a in bq.question.all_answers()
        if a.kind == "choice" and a.explanation
    }
    checked = 0
    for spec in SPECS:
        moodle = {q.findtext("idnumber"): q for q in _moodle(exports[spec, "moodle"])}
        canvas = _canvas(exports[spec, "canvas"])
        z = zipfile.ZipFile(exports[spec, "qti21"] / "qti21.zip")
        for code, manifest in _manifests(exports[spec, "canvas"]).items():
            for q in manifest["questions"]:
                if q["id"] not in reasoned:
                    continue
                # The item whose contract holds the choice.
                item, contract = next(
                    (name, c)
                    for name, c in q["scoring"].items()
                    if any(s["rule"] == "options" for s in c["answers"].values())
                )
                idnumber = f"{spec}:{code}:{item}"
                essay = moodle[f"{idnumber}:written"]
                assert essay.get("type") == "essay" and REASON in essay.findtext("questiontext/text")
                grades = float(moodle[idnumber].findtext("defaultgrade")) + float(
                    essay.findtext("defaultgrade")
                )
                assert math.isclose(grades, contract["marks"]) and float(essay.findtext("defaultgrade")) > 0
                mine = [i for i in canvas[code] if i.get("ident").startswith(safe(idnumber) + "-")]
                kinds = [_field(i, "question_type") for i in mine]
                assert "essay_question" in kinds and any(k.startswith("multiple_") for k in kinds), kinds
                qti = etree.fromstring(z.read(f"items/{safe(code)}-{safe(item)}.xml"))
                assert qti.find(f".//{QTI21}extendedTextInteraction") is not None
                # The choice alone cannot earn every mark: the reason's are a person's to give.
                most = [float(v.text) for v in qti.iter(f"{QTI21}baseValue") if v.get("baseType") == "float"]
                most += [float(m.get("upperBound")) for m in qti.iter(f"{QTI21}mapping")]
                assert most and max(most) < contract["marks"], most
                checked += 1
    assert checked >= 4
