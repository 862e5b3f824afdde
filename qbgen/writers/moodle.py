r"""The Moodle XML writer: the same draws as the paper, as a Moodle question bank.

Room: Moodle's question XML, written with lxml. Imports errors, kinds, models, html.
One category per bank question (`qbgen/<spec>/<id>`), one Moodle question per set in
it, named and `idnumber`ed with the set's code, which the question text shows too, so a
response maps back to its draw. A question (or a part) becomes:

- `numerical`: one value, its answer and tolerance giving exactly qbgen's accepted
  interval, each declared mistake an extra 0% answer whose feedback names it;
- `multichoice`: one choice, options in the paper's order (no shuffling), fractions
  from Moodle's grade list (a rule it cannot write is an error, never rounded);
- `multianswer` (cloze): several values or choices, `{1:NUMERICAL:=v:tol#...~%0%w:tol#mistake}`;
- `essay`: written answers, the marking scheme and model answer in `graderinfo` for
  graders only (and in the general feedback only with `feedback=True`).

A part that mixes written answers with graded ones becomes a cloze and an essay; the
marks are split by the number of answers in each, and the report says so. Text is the
bank's LaTeX converted by pandoc, math as `\(...\)`; figures are PNGs embedded in the
question with their alt text.
"""

from __future__ import annotations

import base64
import math
import shutil
from pathlib import Path

import numpy as np
from lxml import etree
from markupsafe import Markup, escape

from ..errors import QbgenError
from ..kinds.base import LmsChoice, LmsForm, LmsNumber
from .lms import (
    _BLOCK,
    HEAD,
    Group,
    LmsWriter,
    Texts,
    figures_in,
    inline,
    model_answer,
    para,
    split_marks,
    strip_p,
)

# Moodle's grade list: a fraction of an answer must be one of these (or its negative).
GRADES = (
    100, 90, 83.33333, 80, 75, 70, 66.66667, 60, 50, 40, 33.33333, 30, 25, 20, 16.66667, 14.28571,
    12.5, 11.11111, 10, 5, 0,
)  # fmt: skip
FILE = "quiz.xml"


def fraction(value: float, where: str) -> str:
    """Moodle's spelling of a fraction of the grade, or an error naming `where`."""
    for g in GRADES:
        if math.isclose(abs(value), g, abs_tol=5e-5):
            return ("-" if value < 0 else "") + str(g) if g else "0"  # as the list spells it
    raise QbgenError(f"{where}: Moodle cannot give {value:g}% (its grade list has no such fraction)")


def number(value: float) -> str:
    """A float at full precision without an exponent (Moodle reads 0.0000001, not 1e-07)."""
    return np.format_float_positional(value, unique=True, trim="-")


def cloze_escape(text: str) -> str:
    """Escape what a cloze subquestion treats as syntax."""
    for ch in '\\}#~/"':
        text = text.replace(ch, "\\" + ch)
    return text


class MoodleWriter(LmsWriter):
    """Writes one Moodle XML file holding every set's questions, and its report."""

    name = "moodle"
    image_src = "@@PLUGINFILE@@/figure-{key}.png"

    # ---------------------------------------------------------------- writing
    def start(self, folder: Path, count: int) -> None:
        """Begin an export of `count` papers into `folder`."""
        super().start(folder, count)
        self._parts: dict[str, Path] = {}  # each bank question's category and questions so far

    def _take(self, by_id: dict[str, list[list[Group]]], texts: Texts, pngs: dict[str, Path]) -> None:
        # Each bank question's questions of this batch, appended to its part of quiz.xml.
        for qid, sets in by_id.items():
            quiz = etree.Element("quiz")
            if qid not in self._parts:
                self._parts[qid] = self._spool(f"moodle-{len(self._parts)}.xml")
                category = etree.SubElement(quiz, "question", type="category")
                _text(etree.SubElement(category, "category"), f"$course$/top/qbgen/{sets[0][0].spec}/{qid}")
            for groups in sets:
                for g in groups:
                    self._question(quiz, g, texts, pngs)
            with self._parts[qid].open("ab") as part:
                part.write(_inside(quiz))

    def _join(self, folder: Path) -> list[str]:
        # quiz.xml: the bank questions in the order the papers first show them, each its
        # category, then its sets' questions in the papers' order.
        with (folder / FILE).open("wb") as out:
            if not self._parts:
                etree.ElementTree(etree.Element("quiz")).write(
                    out, xml_declaration=True, encoding="UTF-8", pretty_print=True
                )
            else:
                out.write(_OPEN)
                for part in self._parts.values():
                    with part.open("rb") as fh:
                        shutil.copyfileobj(fh, out)
                out.write(_CLOSE)
        return self._finish(folder, FILE)

    def join_languages(self, said: list[tuple[str, str]]) -> str:
        """A text in several languages as Moodle's multi-language filter reads it.

        `<span lang="en" class="multilang">...</span><span lang="hi" ...>`; texts of one
        paragraph each share it, so the spans stay inline (a label, an option).
        """
        inner = [strip_p(html) for _, html in said]
        one_line = all(not _BLOCK.search(x) for x in inner)
        spans = "".join(
            f'<span lang="{lang}" class="multilang">{x if one_line else html}</span>'
            for (lang, html), x in zip(said, inner, strict=True)
        )
        return f"<p>{spans}</p>" if one_line else spans

    def _question(self, quiz: etree._Element, g: Group, t: Texts, pngs: dict[str, Path]) -> None:
        graded, written = g.graded, g.written
        stem = str(HEAD.format(_plain(g.code), _plain(g.number))) + "".join(t[i] for i in g.text)
        if graded and written:
            share, _rest = split_marks(g.marks, [len(graded), len(written)])
            self._say(
                g,
                f"its written answers go to an essay of their own; the {g.marks:g} marks are split by "
                f"answers, {share:g} to the values and choices, {g.marks - share:g} to the essay",
            )
            self._graded(quiz, g, graded, stem, share, t, pngs)
            self._essay(quiz, g, written, stem, g.marks - share, t, pngs, suffix=" (written)")
        elif graded:
            self._graded(quiz, g, graded, stem, g.marks, t, pngs)
        else:
            self._essay(quiz, g, written, stem, g.marks, t, pngs)

    def _common(
        self,
        quiz: etree._Element,
        kind: str,
        g: Group,
        text: str,
        marks: float,
        t: Texts,
        pngs: dict,
        suffix: str = "",
    ) -> etree._Element:
        q = etree.SubElement(quiz, "question", type=kind)
        _text(etree.SubElement(q, "name"), g.name + suffix)
        _html(etree.SubElement(q, "questiontext", format="html"), text, pngs)
        feedback = ""
        if self.feedback:
            feedback = "".join(t[i] for i in g.steps)
        _html(etree.SubElement(q, "generalfeedback", format="html"), feedback, pngs)
        etree.SubElement(q, "defaultgrade").text = f"{marks:g}"
        etree.SubElement(q, "penalty").text = "0"
        etree.SubElement(q, "hidden").text = "0"
        tail = f":{suffix.strip().strip('()')}" if suffix else ""  # `:written`: a choice's essay part
        etree.SubElement(q, "idnumber").text = g.idnumber + tail
        return q

    def _graded(self, quiz, g: Group, forms, stem: str, marks: float, t: Texts, pngs: dict) -> None:
        if len(g.rubric) > len(forms):
            self._say(
                g,
                "Moodle grades the answers only: the marking scheme's lines for the reasoning "
                "are not carried",
            )
        if g.remarks:
            self._say(
                g,
                "the key's remarks for the grader are not carried (Moodle's cloze and "
                "multichoice have no grader-only text)",
            )
        if any(isinstance(f, LmsChoice) and not f.scoring.additive for f, _r in forms):
            self._say(
                g,
                "Moodle has no all-or-nothing choice of several: it gives each correct option its "
                "share and takes one off per wrong option (`negative`)",
            )
        if len(forms) == 1 and isinstance(forms[0][0], LmsNumber):
            form, roles = forms[0]
            q = self._common(quiz, "numerical", g, stem + para(t[roles["label"]]), marks, t, pngs)
            self._numerical(q, form, g.idnumber)
            return
        if len(forms) == 1 and isinstance(forms[0][0], LmsChoice):
            form, roles = forms[0]
            q = self._common(quiz, "multichoice", g, stem + para(t[roles["label"]]), marks, t, pngs)
            self._multichoice(q, form, roles, t, g.idnumber, pngs)
            return
        lines = [stem]
        for n, (form, roles) in enumerate(forms, 1):
            lines.append(inline(t[roles["label"]], self._cloze(form, roles, t, f"{g.idnumber} answer {n}")))
        self._common(quiz, "cloze", g, "".join(lines), marks, t, pngs)
        if len(forms) > 1:
            self._say(
                g,
                f"the marking scheme's weights are not carried: its {len(forms)} answers weigh "
                "the same in the cloze",
            )

    def _numerical(self, q: etree._Element, form: LmsNumber, where: str) -> None:
        for share, value, half, feedback in _interval_answers(form, where):
            a = etree.SubElement(q, "answer", fraction=share, format="moodle_auto_format")
            _text(a, number(value))
            etree.SubElement(a, "tolerance").text = number(half)
            _html(etree.SubElement(a, "feedback", format="html"), _feedback_html(feedback), {})
        etree.SubElement(q, "unitgradingtype").text = "0"
        etree.SubElement(q, "unitpenalty").text = "0"
        etree.SubElement(q, "showunits").text = "3"
        etree.SubElement(q, "unitsleft").text = "0"

    def _multichoice(self, q, form: LmsChoice, roles: dict, t: Texts, where: str, pngs: dict) -> None:
        etree.SubElement(q, "single").text = "false" if form.multiple else "true"
        etree.SubElement(q, "shuffleanswers").text = "0"
        etree.SubElement(q, "answernumbering").text = "ABCD"
        for i, share in enumerate(_shares(form, where)):
            a = etree.SubElement(q, "answer", fraction=share, format="html")
            _html(a, t[roles[f"option{i}"]], pngs)
            _html(etree.SubElement(a, "feedback", format="html"), "", {})

    def _cloze(self, form: LmsForm, roles: dict, t: Texts, where: str) -> str:
        if isinstance(form, LmsNumber):
            parts = [
                f"{'=' if share == '100' else f'%{share}%'}{number(value)}:{number(half)}"
                + (f"#{cloze_feedback(_feedback_html(feedback))}" if feedback else "")
                for share, value, half, feedback in _interval_answers(form, where)
            ]
            return "{1:NUMERICAL:" + "~".join(parts) + "}"
        assert isinstance(form, LmsChoice)
        kind = "MULTIRESPONSE" if form.multiple else "MULTICHOICE_V"
        options = [
            f"%{share}%{cloze_escape(strip_p(t[roles[f'option{i}']]))}"
            for i, share in enumerate(_shares(form, where))
        ]
        return "{1:" + kind + ":" + "~".join(options) + "}"

    def _essay(
        self, quiz, g: Group, forms, stem: str, marks: float, t: Texts, pngs: dict, suffix: str = ""
    ) -> None:
        asked = "".join(para(t[r["label"]]) for _f, r in forms)
        q = self._common(quiz, "essay", g, stem + asked, marks, t, pngs, suffix)
        etree.SubElement(q, "responseformat").text = "editor"
        etree.SubElement(q, "responserequired").text = "1"
        etree.SubElement(q, "responsefieldlines").text = "15"
        etree.SubElement(q, "attachments").text = "0"
        etree.SubElement(q, "attachmentsrequired").text = "0"
        info = ["<p><strong>Marking scheme</strong></p><ul>"]
        info += [f"<li>[{m:g}] {t[i]}</li>" for m, i in g.rubric]
        info.append("</ul><p><strong>Model answer</strong></p>")
        info += [model_answer(t[r["label"]], t[r["model"]]) for _f, r in forms]
        info += [f"<div>{t[i]}</div>" for i in g.remarks]
        _html(etree.SubElement(q, "graderinfo", format="html"), "".join(info), pngs)
        _html(etree.SubElement(q, "responsetemplate", format="html"), "", {})


def _shares(form: LmsChoice, where: str) -> list[str]:
    # Each option's fraction, from the scoring's additive weights (Moodle floors the sum at
    # 0). Moodle's core has no all-or-nothing choice of several: it gets `negative`'s
    # fractions, and the report says so (MoodleWriter._graded).
    rule = form.scoring if form.scoring.additive else form.scoring.model_copy(update={"credit": "negative"})
    return [fraction(100 * w, where) for w in rule.weights()]


def _interval_answers(form: LmsNumber, where: str) -> list[tuple[str, float, float, str]]:
    # (fraction, value, tolerance, feedback) of each answer of a numerical: the accepted
    # interval, each alternative at its credit, each mistake at 0% naming it.
    s = form.scoring
    out = [("100", s.centre, s.half, "")]
    out += [
        (fraction(100 * a.credit, where), a.value, (a.high - a.low) / 2, f"Accepted: {a.name}.")
        for a in s.alternatives
    ]
    out += [("0", m.value, (m.high - m.low) / 2, f"A known mistake: {m.name}.") for m in s.mistakes]
    return out


def _feedback_html(text: str) -> str:
    # A name from the bank (`dw(n)`) is kept from Moodle's text filters: the emoticon
    # filter would draw (n) as a thumbs-down.
    return str(Markup('<p><span class="nolink">{}</span></p>').format(text)) if text else ""


def _plain(text: str) -> Markup:
    # Text (a roster's id) as HTML that shows it as typed: escaped, and its braces
    # character references, so that Moodle's cloze parser, which reads the whole
    # question text, finds no subquestion in `{1:SHORTANSWER:=x}`.
    return Markup(str(escape(text)).replace("{", "&#123;").replace("}", "&#125;"))


def cloze_feedback(html: str) -> str:
    r"""Feedback inside a cloze subquestion, where Moodle unescapes only `\}` and `\#`.

    A `~` would end the feedback and a backslash escape what follows: both become
    character references, which the HTML shows as themselves, and so does `{`, which
    could open a subquestion. `/` and `#` stay as they are (`\/` would show as typed:
    students saw `1\/2`).
    """
    return html.replace("\\", "&#92;").replace("~", "&#126;").replace("{", "&#123;").replace("}", "\\}")


# quiz.xml as lxml writes the whole tree (pretty printed), made of parts written a batch
# at a time: each part is its questions as children of <quiz>, printed inside it.
_OPEN = b"<?xml version='1.0' encoding='UTF-8'?>\n<quiz>\n"
_CLOSE = b"</quiz>\n"


def _inside(quiz: etree._Element) -> bytes:
    # The children of `quiz` as they print inside it (indented one level).
    whole = etree.tostring(quiz, pretty_print=True, encoding="UTF-8")
    assert whole.startswith(b"<quiz>\n") and whole.endswith(_CLOSE), whole[:40]
    return whole[len(b"<quiz>\n") : -len(_CLOSE)]


def _text(parent: etree._Element, value: str) -> None:
    etree.SubElement(parent, "text").text = value


def _html(parent: etree._Element, html: str, pngs: dict[str, Path]) -> None:
    # The HTML as <text>, and a <file> for each figure it shows (Moodle's @@PLUGINFILE@@).
    # CDATA cannot hold `]]>`: HTML that does (in an attribute, say) is escaped text.
    el = etree.SubElement(parent, "text")
    el.text = etree.CDATA(html) if html and "]]>" not in html else html
    for key in figures_in(html, pngs):
        if f"@@PLUGINFILE@@/figure-{key}.png" in html:
            f = etree.SubElement(parent, "file", name=pngs[key].name, path="/", encoding="base64")
            f.text = base64.b64encode(pngs[key].read_bytes()).decode()


__all__ = ["GRADES", "MoodleWriter", "cloze_escape", "cloze_feedback", "fraction", "number"]
