"""The Canvas writer: the same draws as the paper, as a QTI 1.2 package Canvas imports.

Room: IMS QTI ASI 1.2 (the dialect Canvas Classic Quizzes read), its content package
manifest, written with lxml. Imports errors, kinds, models, html, writers.lms.
`canvas.zip` holds one assessment per set (`<set>/<set>.xml`, a quiz "SPEC, set A"),
its items in the paper's order, and the figures as files; `imsmanifest.xml` lists
them. Canvas's question groups draw questions, not sets, so a set is a quiz: give each
section (or student) its own, and their answers map back to the set's manifest.

- A value is a `numerical_question`: the exact value, or any response inside the
  key's closed interval (Canvas's "exact answer with margin"), with no floor on small
  values; each declared mistake is an answer comment naming it.
- A choice is `multiple_choice_question` (one) or `multiple_answers_question` (any),
  options in the paper's order.
- A table's values are one `fill_in_multiple_blanks_question`: a blank per cell,
  accepting the integer, or every number of 3 or 4 figures inside the cell's interval.
- A part's written answers are one `essay_question`; Canvas has no grader-only text, so
  the marking scheme goes to the report, not to students.

A part that needs several Canvas questions shares its marks among them by their answers
in half marks (`lms.split_marks`), adding up to the paper's; the report says so.
"""

from __future__ import annotations

import math
from pathlib import Path

from lxml import etree
from markupsafe import Markup, escape

from ..kinds.base import LmsChoice, LmsForm, LmsNumber, LmsWritten
from .lms import Group, LmsWriter, Texts, inline, para, safe, split_marks

QTI = "http://www.imsglobal.org/xsd/ims_qtiasiv1p2"
CP = "http://www.imsglobal.org/xsd/imscp_v1p1"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
PACKAGE = "canvas.zip"
BLANK = "qbgen_blank"  # a blank's name: `[qbgen_blank1]` in the question text
MAX_TEXTS = 60  # the most texts a blank accepts (the nearest the value, if its interval holds more)


Piece = list[tuple[LmsForm, dict[str, int]]]  # the answers one Canvas question asks


def _what(piece: list) -> str:
    form = piece[0][0]
    if isinstance(form, LmsNumber):
        return "a value" if len(piece) == 1 else f"{len(piece)} values in blanks"
    if isinstance(form, LmsChoice):
        return "a choice"
    return "an essay" if len(piece) == 1 else f"an essay of {len(piece)} answers"


def accepted_texts(form: LmsNumber) -> list[str]:
    """What a blank accepts for a value: the numbers of 3 and 4 figures inside its interval.

    An exact value is itself (an integer without a decimal point). Alternatives of full
    credit are accepted too; those of part credit cannot be (a blank is right or wrong).
    """
    out: dict[str, float] = {}
    spans = [(form.value, form.low, form.high)]
    spans += [(a.value, a.low, a.high) for a in form.scoring.alternatives if a.credit == 1]
    for value, low, high in spans:
        if low == high:
            exact = f"{int(value)}" if float(value).is_integer() else f"{value:.12f}".rstrip("0")
            out.setdefault(exact, 0.0)
            continue
        for figures in (3, 4):
            places = figures - 1 - math.floor(math.log10(abs(value))) if value else figures
            step = 10.0**-places
            first, last = math.ceil(round(low / step, 6)), math.floor(round(high / step, 6))
            for k in range(first, last + 1):
                out.setdefault(_decimal(k * step, max(places, 0)), abs(k * step - value))
    nearest = sorted(out, key=lambda text: out[text])[:MAX_TEXTS]
    return sorted(nearest, key=lambda text: (out[text], text))


def _blanks_lost(forms: list) -> str:
    # What a question of blanks does not carry of these values' scoring.
    lost = ["Canvas marks a blank by its text, and its blanks weigh the same"]
    if any(f.low < f.high for f in forms):
        lost.append("a value with an interval is accepted as written to 3 or 4 figures inside it")
    if any(f.scoring.mistakes for f in forms):
        lost.append("a known mistake is not named")
    if any(a.credit < 1 for f in forms for a in f.scoring.alternatives):
        lost.append("an alternative of part credit earns none")
    return "; ".join(lost)


def _decimal(x: float, places: int) -> str:
    text = f"{x:.{places}f}"
    return text[1:] if text.startswith("-") and not float(text) else text  # never "-0.00"


def _with_namespace(xml: bytes) -> bytes:
    # QTI 1.2 predates namespaces (its DTD has none); Canvas reads the default one.
    body = xml.replace(b"<questestinterop>", f'<questestinterop xmlns="{QTI}">'.encode(), 1)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + body


def _field(meta: etree._Element, label: str, entry: str) -> None:
    f = etree.SubElement(meta, "qtimetadatafield")
    etree.SubElement(f, "fieldlabel").text = label
    etree.SubElement(f, "fieldentry").text = entry


def _material(parent: etree._Element, html: str) -> None:
    mat = etree.SubElement(parent, "material")
    etree.SubElement(mat, "mattext", texttype="text/html").text = html


class CanvasWriter(LmsWriter):
    """Writes canvas.zip: one QTI 1.2 assessment per set, its items and figures, the manifest."""

    name = "canvas"
    image_src = "$IMS-CC-FILEBASE$/images/figure-{key}.png"

    def start(self, folder: Path, count: int) -> None:
        """Begin an export of `count` papers into `folder`."""
        super().start(folder, count)
        self._files: dict[str, bytes | Path] = {}  # the package's files, those written so far

    def _take(self, by_id: dict[str, list[list[Group]]], texts: Texts, pngs: dict[str, Path]) -> None:
        # Each set of the batch is an assessment of its own: written to the work folder.
        sets: dict[str, list[Group]] = {}
        for per_set in by_id.values():
            for groups in per_set:
                for g in groups:
                    sets.setdefault(g.code, []).append(g)
        for code, groups in sets.items():
            name = f"{safe(code)}/{safe(code)}.xml"
            spool = self._spool(f"canvas-{len(self._files)}.xml")
            spool.write_bytes(
                _with_namespace(etree.tostring(self._assessment(code, groups, texts), encoding="UTF-8"))
            )
            self._files[name] = spool

    def _join(self, folder: Path) -> list[str]:
        files = dict(self._files)
        for key, png in self._pngs.items():
            files[f"images/figure-{key}.png"] = png
        files["imsmanifest.xml"] = etree.tostring(
            self._manifest(files), xml_declaration=True, encoding="UTF-8", pretty_print=True
        )
        return self._package(folder, PACKAGE, files)

    def _assessment(self, code: str, groups: list[Group], t: Texts) -> etree._Element:
        root = etree.Element("questestinterop")  # in QTI's namespace once written (_with_namespace)
        spec = groups[0].spec if groups else "exam"
        test = etree.SubElement(root, "assessment", ident=safe(f"{spec}-{code}"), title=f"{spec}, set {code}")
        meta = etree.SubElement(test, "qtimetadata")
        _field(meta, "cc_maxattempts", "1")
        section = etree.SubElement(test, "section", ident="root_section")
        for g in groups:
            self._items(section, g, t)
        return root

    def _items(self, section: etree._Element, g: Group, t: Texts) -> None:
        # A question (or part) is as few Canvas questions as Canvas's types allow: a table's
        # values one question of blanks, any other value a numerical question (its interval
        # and named mistakes whole), each choice its own, the written answers one essay;
        # the marks split among them by their answers, in half marks. Where the marks are
        # too few for half a mark a question, all the values are one question of blanks.
        stem = g.head + "".join(t[i] for i in g.text)
        said = [lang for lang, _ in t.languages(g.text[-1])] if g.text else []
        if len(said) > 1:
            self._say(
                g, f"Canvas takes one language: the quiz is in {said[0]} only, not {', '.join(said[1:])}"
            )
        if not g.forms:
            return
        pieces: list[Piece] = []
        essay: Piece = []
        forms = iter(g.forms)
        for count, whole in g.answers:
            mine: Piece = [next(forms) for _ in range(count)]
            values: Piece = [(f, r) for f, r in mine if isinstance(f, LmsNumber)]
            if whole is not None and len(values) > 1:
                pieces.append(values)
                mine = [(f, r) for f, r in mine if not isinstance(f, LmsNumber)]
            for f, r in mine:
                if isinstance(f, LmsWritten):
                    essay.append((f, r))
                else:
                    pieces.append([(f, r)])
        if essay:
            pieces.append(essay)
        values = [x for piece in pieces for x in piece if isinstance(x[0], LmsNumber)]
        if g.marks < 0.5 * len(pieces) and len(values) > 1:
            # Too few marks for a half mark a question: every value goes in one question of blanks.
            rest = [piece for piece in pieces if not isinstance(piece[0][0], LmsNumber)]
            pieces = [values, *rest]
        points = split_marks(g.marks, [len(p) for p in pieces])
        if len(pieces) > 1:
            kinds = ", ".join(_what(piece) for piece in pieces)
            shares = " and ".join((", ".join(f"{m:g}" for m in points[:-1]), f"{points[-1]:g}"))
            self._say(g, f"its answers are {len(pieces)} Canvas questions ({kinds}) of {shares} marks")
        if g.written or len(g.rubric) > 1:
            self._say(g, "Canvas has no grader-only text: the marking scheme is not in the quiz")
        for piece in pieces:
            if len(piece) > 1 and isinstance(piece[0][0], LmsNumber):
                self._say(g, _blanks_lost([f for f, _r in piece]))
        for n, (piece, share) in enumerate(zip(pieces, points, strict=True), 1):
            ident = safe(f"{g.idnumber}-{n}")
            title = g.name if len(pieces) == 1 else f"{g.name} ({n})"
            item = etree.SubElement(section, "item", ident=ident, title=title[:80])
            meta = etree.SubElement(etree.SubElement(item, "itemmetadata"), "qtimetadata")
            form, roles = piece[0]
            kind = (
                ("numerical_question" if len(piece) == 1 else "fill_in_multiple_blanks_question")
                if isinstance(form, LmsNumber)
                else "essay_question"
                if isinstance(form, LmsWritten)
                else "multiple_answers_question"
                if form.multiple
                else "multiple_choice_question"
            )
            _field(meta, "question_type", kind)
            _field(meta, "points_possible", repr(float(share)))
            _field(meta, "original_answer_ids", "")
            _field(meta, "assessment_question_identifierref", ident)
            pres = etree.SubElement(item, "presentation")
            proc = etree.SubElement(item, "resprocessing")
            outcomes = etree.SubElement(proc, "outcomes")
            etree.SubElement(
                outcomes, "decvar", maxvalue="100", minvalue="0", varname="SCORE", vartype="Decimal"
            )
            if isinstance(form, LmsNumber) and len(piece) > 1:
                self._blanks(pres, proc, stem, piece, t)
            elif isinstance(form, LmsNumber):
                _material(pres, stem + para(t[roles["label"]]))
                self._numerical(item, pres, proc, form)
            elif isinstance(form, LmsChoice):
                _material(pres, stem + para(t[roles["label"]]))
                if form.multiple and form.scoring.credit != "partial":
                    # Canvas marks a multiple-answers question by its own rule, whatever the
                    # package says: qbgen's `partial` (a wrong option takes a correct share back).
                    self._say(
                        g,
                        f"Canvas gives a choice of several its own per-option credit (qbgen's `partial`);"
                        f" this answer's `{form.scoring.credit}` rule is not carried",
                    )
                self._choice(pres, proc, form, roles, t)
            else:
                _material(pres, stem + "".join(para(t[r["label"]]) for _f, r in piece))
                resp = etree.SubElement(pres, "response_str", ident="response1", rcardinality="Single")
                etree.SubElement(resp, "render_fib")
                cond = etree.SubElement(proc, "respcondition", attrib={"continue": "No"})
                etree.SubElement(etree.SubElement(cond, "conditionvar"), "other")

    def _blanks(self, pres, proc, stem: str, piece: list, t: Texts) -> None:
        # Canvas's fill-in-multiple-blanks: `[name]` in the text is a blank, and each blank
        # a response_lid whose labels are the texts it accepts; a blank right adds its share.
        lines = [stem]
        for n, (form, roles) in enumerate(piece, 1):
            unit = f" {escape(form.unit)}" if form.unit else ""
            lines.append(inline(t[roles["label"]], f"[{BLANK}{n}]{unit}"))
        _material(pres, "".join(lines))
        for n, (form, _roles) in enumerate(piece, 1):
            resp = etree.SubElement(pres, "response_lid", ident=f"response_{BLANK}{n}")
            etree.SubElement(etree.SubElement(resp, "material"), "mattext").text = f"{BLANK}{n}"
            render = etree.SubElement(resp, "render_choice")
            cond = etree.SubElement(proc, "respcondition")
            var = etree.SubElement(etree.SubElement(cond, "conditionvar"), "or")  # any text it accepts
            for k, text in enumerate(accepted_texts(form), 1):
                label = etree.SubElement(render, "response_label", ident=f"{BLANK}{n}_{k}")
                mat = etree.SubElement(label, "material")
                etree.SubElement(mat, "mattext", texttype="text/plain").text = text
                etree.SubElement(var, "varequal", respident=f"response_{BLANK}{n}").text = f"{BLANK}{n}_{k}"
            etree.SubElement(cond, "setvar", action="Add", varname="SCORE").text = repr(100 / len(piece))

    def _numerical(self, item, pres, proc, form: LmsNumber) -> None:
        resp = etree.SubElement(pres, "response_str", ident="response1", rcardinality="Single")
        etree.SubElement(
            etree.SubElement(resp, "render_fib", fibtype="Decimal"), "response_label", ident="answer1"
        )
        cond = etree.SubElement(proc, "respcondition", attrib={"continue": "No"})
        var = etree.SubElement(cond, "conditionvar")
        either = etree.SubElement(var, "or")
        etree.SubElement(either, "varequal", respident="response1").text = repr(form.value)
        both = etree.SubElement(either, "and")
        etree.SubElement(both, "vargte", respident="response1").text = repr(form.low)
        etree.SubElement(both, "varlte", respident="response1").text = repr(form.high)
        etree.SubElement(cond, "setvar", action="Set", varname="SCORE").text = "100"
        named = [
            (f"alternative{k}_fb", a, f"Accepted: {a.name}.")
            for k, a in enumerate(form.scoring.alternatives, 1)
        ]
        named += [
            (f"mistake{k}_fb", m, f"A known mistake: {m.name}.")
            for k, m in enumerate(form.scoring.mistakes, 1)
        ]
        for fid, x, text in named:
            # An alternative earns its credit and stops there; a mistake only names itself.
            cond = etree.SubElement(proc, "respcondition", attrib={"continue": "No" if x.credit else "Yes"})
            wv = etree.SubElement(etree.SubElement(cond, "conditionvar"), "and")
            etree.SubElement(wv, "vargte", respident="response1").text = repr(x.low)
            etree.SubElement(wv, "varlte", respident="response1").text = repr(x.high)
            if x.credit:
                etree.SubElement(cond, "setvar", action="Set", varname="SCORE").text = f"{100 * x.credit:g}"
            etree.SubElement(cond, "displayfeedback", feedbacktype="Response", linkrefid=fid)
            fb = etree.SubElement(item, "itemfeedback", ident=fid)
            # The name is the bank's, shown as text: escaped by construction.
            _material(etree.SubElement(fb, "flow_mat"), str(Markup("<p>{}</p>").format(text)))

    def _choice(self, pres, proc, form: LmsChoice, roles: dict, t: Texts) -> None:
        card = "Multiple" if form.multiple else "Single"
        resp = etree.SubElement(pres, "response_lid", ident="response1", rcardinality=card)
        render = etree.SubElement(resp, "render_choice")
        for i in range(len(form.options)):
            label = etree.SubElement(render, "response_label", ident=f"choice{i}")
            _material(label, t[roles[f"option{i}"]])
        cond = etree.SubElement(proc, "respcondition", attrib={"continue": "No"})
        var = etree.SubElement(cond, "conditionvar")
        if form.multiple:
            both = etree.SubElement(var, "and")
            for i in range(len(form.options)):
                if i in form.correct:
                    etree.SubElement(both, "varequal", respident="response1").text = f"choice{i}"
                else:
                    etree.SubElement(
                        etree.SubElement(both, "not"), "varequal", respident="response1"
                    ).text = f"choice{i}"
        else:
            etree.SubElement(var, "varequal", respident="response1").text = f"choice{form.correct[0]}"
        etree.SubElement(cond, "setvar", action="Set", varname="SCORE").text = "100"

    def _manifest(self, files: dict[str, bytes | Path]) -> etree._Element:
        man = etree.Element(f"{{{CP}}}manifest", nsmap={None: CP, "xsi": XSI}, identifier="qbgen_canvas")  # type: ignore[dict-item]
        man.set(f"{{{XSI}}}schemaLocation", f"{CP} http://www.imsglobal.org/xsd/imscp_v1p1.xsd")
        meta = etree.SubElement(man, f"{{{CP}}}metadata")
        etree.SubElement(meta, f"{{{CP}}}schema").text = "IMS Content"
        etree.SubElement(meta, f"{{{CP}}}schemaversion").text = "1.1.3"
        etree.SubElement(man, f"{{{CP}}}organizations")
        resources = etree.SubElement(man, f"{{{CP}}}resources")
        for name in sorted(files):
            if name.endswith(".xml") and "/" in name:
                res = etree.SubElement(resources, f"{{{CP}}}resource", identifier=safe(Path(name).stem))
                res.set("type", "imsqti_xmlv1p2")
                etree.SubElement(res, f"{{{CP}}}file", href=name)
        pictures = [n for n in sorted(files) if n.startswith("images/")]
        if pictures:
            res = etree.SubElement(
                resources, f"{{{CP}}}resource", identifier="qbgen_figures", type="webcontent"
            )
            res.set("href", pictures[0])
            for pic in pictures:
                etree.SubElement(res, f"{{{CP}}}file", href=pic)
        return man


__all__ = ["PACKAGE", "CanvasWriter"]
