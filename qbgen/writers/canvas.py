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
- A written answer is an `essay_question`; Canvas has no grader-only text, so the
  marking scheme goes to the report, not to students.

A part with several values becomes one item per value (its stem repeated), the marks
split equally; the report says so.
"""

from __future__ import annotations

from pathlib import Path

from lxml import etree
from markupsafe import Markup

from ..kinds.base import LmsChoice, LmsNumber, LmsWritten
from .lms import Group, LmsWriter, Texts, para, safe

QTI = "http://www.imsglobal.org/xsd/ims_qtiasiv1p2"
CP = "http://www.imsglobal.org/xsd/imscp_v1p1"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
PACKAGE = "canvas.zip"


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
        stem = g.head + "".join(t[i] for i in g.text)
        if not g.forms:
            return
        if len(g.forms) > 1:
            self._say(
                g, f"its {len(g.forms)} answers are {len(g.forms)} Canvas questions, the marks split equally"
            )
        if g.written or len(g.rubric) > 1:
            self._say(g, "Canvas has no grader-only text: the marking scheme is not in the quiz")
        points = g.marks / len(g.forms)
        for n, (form, roles) in enumerate(g.forms, 1):
            ident = safe(f"{g.idnumber}-{n}")
            item = etree.SubElement(section, "item", ident=ident, title=f"{g.name} ({n})"[:80])
            meta = etree.SubElement(etree.SubElement(item, "itemmetadata"), "qtimetadata")
            kind = (
                "numerical_question"
                if isinstance(form, LmsNumber)
                else "essay_question"
                if isinstance(form, LmsWritten)
                else "multiple_answers_question"
                if form.multiple
                else "multiple_choice_question"
            )
            _field(meta, "question_type", kind)
            _field(meta, "points_possible", repr(float(points)))
            _field(meta, "original_answer_ids", "")
            _field(meta, "assessment_question_identifierref", ident)
            pres = etree.SubElement(item, "presentation")
            _material(pres, stem + para(t[roles["label"]]))
            proc = etree.SubElement(item, "resprocessing")
            outcomes = etree.SubElement(proc, "outcomes")
            etree.SubElement(
                outcomes, "decvar", maxvalue="100", minvalue="0", varname="SCORE", vartype="Decimal"
            )
            if isinstance(form, LmsNumber):
                self._numerical(item, pres, proc, form)
            elif isinstance(form, LmsChoice):
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
                resp = etree.SubElement(pres, "response_str", ident="response1", rcardinality="Single")
                etree.SubElement(resp, "render_fib")
                cond = etree.SubElement(proc, "respcondition", attrib={"continue": "No"})
                etree.SubElement(etree.SubElement(cond, "conditionvar"), "other")

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
