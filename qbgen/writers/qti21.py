r"""The QTI 2.1 writer: the same draws as the paper, as an IMS content package.

Room: IMS QTI 2.1.2 items, their test and the package manifest, written with lxml.
Imports errors, kinds, models, html, writers.lms. `qti21.zip` holds one item per
question (or part) of each set, `items/<set>-<number>.xml`, its figures as PNG files
beside it, an `assessmentTest` with one section per bank question that selects one of
its sets for each candidate, and `imsmanifest.xml` (IMS CP 1.1) listing them all.

- A value is a `textEntryInteraction` (baseType float) scored when the response lies
  in the key's closed interval; each declared mistake sets a feedback outcome whose
  modal feedback names it.
- A choice is a `choiceInteraction` in the paper's order (`shuffle="false"`), scored
  on the correct set of options.
- A written answer is an `extendedTextInteraction`, scored by a person; the marking
  scheme and the model answer are a `rubricBlock view="scorer"` (graders only).

Values and choices share the question's marks equally; the report says where that
differs from the marking scheme. Text is the bank's LaTeX converted by pandoc, math
left as `\(...\)` for MathJax (no MathML, so none to check against MathML 2).
"""

from __future__ import annotations

import re
from pathlib import Path

from lxml import etree
from lxml import html as lxml_html

from ..kinds.base import LmsChoice, LmsNumber, LmsWritten
from .lms import Group, LmsWriter, Texts, figures_in, model_answer, safe, split_marks

NS = "http://www.imsglobal.org/xsd/imsqti_v2p1"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
SCHEMA = "http://www.imsglobal.org/xsd/imsqti_v2p1 http://www.imsglobal.org/xsd/qti/qtiv2p1/imsqti_v2p1p2.xsd"
CP = "http://www.imsglobal.org/xsd/imscp_v1p1"
CP_SCHEMA = "http://www.imsglobal.org/xsd/imscp_v1p1 http://www.imsglobal.org/xsd/imscp_v1p1.xsd"
PACKAGE = "qti21.zip"
# HTML that QTI's content model does not take, mapped to what it does.
_RENAME = {"section": "div", "figure": "div", "figcaption": "div", "u": "span", "s": "span"}
# Attributes of pandoc's HTML that QTI's XHTML does not have: pandoc's `data-*` (a
# listing's `data-language`, `data-basicstyle`), ARIA, styles, and event handlers.
_DROP_ATTRS = {"aria-hidden", "tabindex", "style"}


XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


def _q(tag: str) -> str:
    return f"{{{NS}}}{tag}"


def ident(text: str) -> str:
    """A QTI identifier: letters, digits, _ . - only, starting with a letter or _."""
    out = re.sub(r"[^A-Za-z0-9_.-]", "_", text)
    return out if re.match(r"[A-Za-z_]", out) else f"_{out}"


def xhtml(fragment: str) -> list[etree._Element]:
    """Parse pandoc's HTML into elements in the QTI namespace (void tags closed)."""
    parts = lxml_html.fragments_fromstring(fragment) if fragment.strip() else []
    out: list[etree._Element] = []
    for part in parts:
        if isinstance(part, str):
            p = etree.Element(_q("p"))
            p.text = part
            out.append(p)
            continue
        out.append(_into_qti(part))
    return out


def _languages(t: Texts, i: int) -> str:
    # A text in several languages: a block each, its language said by xml:lang.
    said = t.languages(i)
    if len(said) == 1:
        return said[0][1]
    return "".join(f'<div xml:lang="{lang}">{html}</div>' for lang, html in said)


def _into_qti(el: etree._Element) -> etree._Element:
    tag = _RENAME.get(el.tag, el.tag)
    new = etree.Element(_q(tag))
    for k, v in el.attrib.items():
        name = str(k)
        if name == "xml:lang":  # ours (`_languages`): pandoc writes none
            new.set(XML_LANG, str(v))
        elif name not in _DROP_ATTRS and not name.startswith(("on", "data-")):
            new.set(name, str(v))
    if tag == "img" and not new.get("alt"):
        new.set("alt", "")
    new.text = el.text
    for child in el:
        if not isinstance(child.tag, str):  # a comment
            continue
        sub = _into_qti(child)
        sub.tail = child.tail
        new.append(sub)
    return new


def _block(parent: etree._Element, html: str) -> None:
    # A flow of block content: inline text is wrapped in a paragraph.
    div = etree.SubElement(parent, _q("div"))
    for el in xhtml(html):
        div.append(el)


class Qti21Writer(LmsWriter):
    """Writes qti21.zip: items, the test that picks one set of each question, the manifest."""

    name = "qti21"
    image_src = "figure-{key}.png"

    def start(self, folder: Path, count: int) -> None:
        """Begin an export of `count` papers into `folder`."""
        super().start(folder, count)
        self._items: dict[str, list[str]] = {}  # each bank question (or part): its sets' items
        self._files: dict[str, Path] = {}  # each item's file, written to the work folder
        self._shows: dict[str, list[str]] = {}  # each item's figures (keys)
        self._spec = ""

    def _take(self, by_id: dict[str, list[list[Group]]], texts: Texts, pngs: dict[str, Path]) -> None:
        # Each item of the batch, written to the work folder; what it shows, kept.
        for qid, sets in by_id.items():
            for groups in sets:
                for g in groups:
                    self._spec = self._spec or g.spec
                    name = f"items/{safe(g.code)}-{safe(g.number)}.xml"
                    xml = etree.tostring(self._item(g, texts), xml_declaration=True, encoding="UTF-8")
                    self._files[name] = self._spool(f"qti21-{len(self._files)}.xml")
                    self._files[name].write_bytes(xml)
                    self._shows[name] = figures_in(xml, pngs)
                    self._items.setdefault(f"{qid}{g.label}", []).append(name)

    def _join(self, folder: Path) -> list[str]:
        spec = self._spec or "exam"
        files: dict[str, bytes | Path] = dict(self._files)
        for key, png in self._pngs.items():
            files[f"items/figure-{key}.png"] = png
        files["test.xml"] = etree.tostring(
            _test_tree(spec, self._items), xml_declaration=True, encoding="UTF-8"
        )
        files["imsmanifest.xml"] = etree.tostring(
            _manifest_tree(spec, self._items, self._shows),
            xml_declaration=True,
            encoding="UTF-8",
            pretty_print=True,
        )
        return self._package(folder, PACKAGE, files)

    # ---------------------------------------------------------------- an item
    def _item(self, g: Group, t: Texts) -> etree._Element:
        item = etree.Element(_q("assessmentItem"), nsmap={None: NS, "xsi": XSI})  # type: ignore[dict-item]
        item.set(f"{{{XSI}}}schemaLocation", SCHEMA)
        item.set("identifier", ident(g.idnumber))
        item.set("title", g.name)
        item.set("adaptive", "false")
        item.set("timeDependent", "false")
        graded, written = g.graded, g.written
        if graded and (written or len(graded) > 1 or len(g.rubric) > len(graded)):
            self._say(g, "values and choices share the marks equally, not as the marking scheme splits them")
        share = g.marks
        if written:
            self._say(g, "written answers are scored by a person (the scheme is in the scorer's rubric)")
        if graded and written:
            # The marks split as Moodle's do: the written answers keep theirs for the person.
            share, rest = split_marks(g.marks, [len(graded), len(written)])
            self._say(
                g, f"{share:g} of its {g.marks:g} marks go to the values and choices, {rest:g} to a person"
            )
        weight = share / len(graded) if graded else 0.0
        mistakes: list[tuple[str, str]] = []  # (feedback identifier, its text)
        for n, (form, _roles) in enumerate(g.forms, 1):
            rid = f"RESPONSE_{n}"
            if isinstance(form, LmsNumber):
                decl = etree.SubElement(item, _q("responseDeclaration"), identifier=rid)
                decl.set("cardinality", "single")
                decl.set("baseType", "float")
                mistakes += [
                    (f"ALTERNATIVE_{n}_{k}", f"Accepted: {a.name}.")
                    for k, a in enumerate(form.scoring.alternatives, 1)
                ]
                mistakes += [
                    (f"MISTAKE_{n}_{k}", f"A known mistake: {m.name}.")
                    for k, m in enumerate(form.scoring.mistakes, 1)
                ]
            elif isinstance(form, LmsChoice):
                decl = etree.SubElement(item, _q("responseDeclaration"), identifier=rid)
                decl.set("cardinality", "multiple" if form.multiple else "single")
                decl.set("baseType", "identifier")
                correct = etree.SubElement(decl, _q("correctResponse"))
                for i in form.correct:
                    etree.SubElement(correct, _q("value")).text = f"CHOICE_{i}"
                if _mapped(form):
                    # Per-option credit: each choice's weight of the answer's marks, the sum
                    # floored at 0 (mapResponse in the processing).
                    mapping = etree.SubElement(decl, _q("mapping"), lowerBound="0", defaultValue="0")
                    mapping.set("upperBound", repr(float(weight)))
                    for i, w in enumerate(form.scoring.weights()):
                        entry = etree.SubElement(mapping, _q("mapEntry"), mapKey=f"CHOICE_{i}")
                        entry.set("mappedValue", repr(w * weight))
            else:
                decl = etree.SubElement(item, _q("responseDeclaration"), identifier=rid)
                decl.set("cardinality", "single")
                decl.set("baseType", "string")
        for oid, kind in (("SCORE", "float"), ("MAXSCORE", "float")):
            out = etree.SubElement(item, _q("outcomeDeclaration"), identifier=oid, cardinality="single")
            out.set("baseType", kind)
            default = etree.SubElement(etree.SubElement(out, _q("defaultValue")), _q("value"))
            default.text = "0" if oid == "SCORE" else f"{g.marks:g}"
        if mistakes:
            fb = etree.SubElement(
                item, _q("outcomeDeclaration"), identifier="FEEDBACK", cardinality="multiple"
            )
            fb.set("baseType", "identifier")
        body = etree.SubElement(item, _q("itemBody"))
        scorer = etree.SubElement(body, _q("rubricBlock"), view="scorer")
        _block(scorer, self._scheme(g, t, written))
        _block(body, g.head + "".join(_languages(t, i) for i in g.text))
        said = [lang for lang, _ in t.languages(g.text[-1])] if g.text else []
        if len(said) > 1:
            item.set(XML_LANG, said[0])
            self._say(
                g,
                f"its text is in {', '.join(said)} (xml:lang); its answers' labels and options "
                f"in {said[0]} only",
            )
        for n, (form, roles) in enumerate(g.forms, 1):
            self._interaction(body, form, roles, t, f"RESPONSE_{n}")
        self._processing(item, g, weight)
        for oid, text in mistakes:
            mf = etree.SubElement(item, _q("modalFeedback"), outcomeIdentifier="FEEDBACK", identifier=oid)
            mf.set("showHide", "show")
            mf.text = text
        return item

    def _scheme(self, g: Group, t: Texts, written: list) -> str:
        lines = ["<p><strong>Marking scheme</strong></p><ul>"]
        lines += [f"<li>[{m:g}] {t[i]}</li>" for m, i in g.rubric]
        lines.append("</ul>")
        if written or g.remarks:
            lines.append("<p><strong>Model answer</strong></p>")
            lines += [model_answer(t[r["label"]], t[r["model"]]) for _f, r in written]
            lines += [f"<div>{t[i]}</div>" for i in g.remarks]
        return "".join(lines)

    def _interaction(self, body: etree._Element, form, roles: dict, t: Texts, rid: str) -> None:
        if isinstance(form, LmsNumber):
            p = etree.SubElement(body, _q("p"))
            for el in xhtml(t[roles["label"]]):
                p.append(el) if el.tag != _q("p") else _inline(p, el)
            entry = etree.SubElement(p, _q("textEntryInteraction"), responseIdentifier=rid)
            entry.set("expectedLength", "12")
            if form.unit:
                entry.tail = f" {form.unit}"
            return
        if isinstance(form, LmsChoice):
            choice = etree.SubElement(body, _q("choiceInteraction"), responseIdentifier=rid, shuffle="false")
            choice.set("maxChoices", "0" if form.multiple else "1")
            prompt = etree.SubElement(choice, _q("prompt"))
            for el in xhtml(t[roles["label"]]):
                _inline(prompt, el) if el.tag == _q("p") else prompt.append(el)
            for i in range(len(form.options)):
                simple = etree.SubElement(choice, _q("simpleChoice"), identifier=f"CHOICE_{i}")
                for el in xhtml(t[roles[f"option{i}"]]):
                    _inline(simple, el) if el.tag == _q("p") else simple.append(el)
            return
        block = etree.SubElement(body, _q("div"))
        for el in xhtml(t[roles["label"]]):
            block.append(el)
        ext = etree.SubElement(body, _q("extendedTextInteraction"), responseIdentifier=rid)
        ext.set("expectedLines", "10")

    def _processing(self, item: etree._Element, g: Group, weight: float) -> None:
        rp = etree.SubElement(item, _q("responseProcessing"))
        for n, (form, _roles) in enumerate(g.forms, 1):
            rid = f"RESPONSE_{n}"
            if isinstance(form, LmsWritten):
                continue
            if isinstance(form, LmsChoice) and _mapped(form):
                sov = etree.SubElement(rp, _q("setOutcomeValue"), identifier="SCORE")
                total = etree.SubElement(sov, _q("sum"))
                etree.SubElement(total, _q("variable"), identifier="SCORE")
                etree.SubElement(total, _q("mapResponse"), identifier=rid)
                continue
            cond = etree.SubElement(rp, _q("responseCondition"))
            first = etree.SubElement(cond, _q("responseIf"))
            if isinstance(form, LmsNumber):
                _within(first, rid, form.low, form.high)
            else:
                match = etree.SubElement(first, _q("match"))
                etree.SubElement(match, _q("variable"), identifier=rid)
                etree.SubElement(match, _q("correct"), identifier=rid)
            _add_score(first, weight)
            if isinstance(form, LmsNumber):
                named = [("ALTERNATIVE", a, a.credit) for a in form.scoring.alternatives]
                named += [("MISTAKE", m, 0.0) for m in form.scoring.mistakes]
                counts = {"ALTERNATIVE": 0, "MISTAKE": 0}
                for what, x, credit in named:
                    counts[what] += 1
                    other = etree.SubElement(cond, _q("responseElseIf"))
                    _within(other, rid, x.low, x.high)
                    if credit:
                        _add_score(other, weight * credit)
                    setfb = etree.SubElement(other, _q("setOutcomeValue"), identifier="FEEDBACK")
                    multiple = etree.SubElement(setfb, _q("multiple"))
                    etree.SubElement(multiple, _q("variable"), identifier="FEEDBACK")
                    base = etree.SubElement(multiple, _q("baseValue"), baseType="identifier")
                    base.text = f"{what}_{n}_{counts[what]}"


def _mapped(form: LmsChoice) -> bool:
    # A choice of several with per-option credit is scored by its mapping; else by a match.
    return form.multiple and form.scoring.additive


def _inline(parent: etree._Element, p: etree._Element) -> None:
    # Move a paragraph's inline content into `parent` (a prompt, a choice, a line).
    if p.text:
        last = parent[-1] if len(parent) else None
        if last is None:
            parent.text = (parent.text or "") + p.text
        else:
            last.tail = (last.tail or "") + p.text
    for child in list(p):
        parent.append(child)


def _within(parent: etree._Element, rid: str, low: float, high: float) -> None:
    both = etree.SubElement(parent, _q("and"))
    for op, bound in (("gte", low), ("lte", high)):
        cmp = etree.SubElement(both, _q(op))
        etree.SubElement(cmp, _q("variable"), identifier=rid)
        etree.SubElement(cmp, _q("baseValue"), baseType="float").text = repr(float(bound))


def _add_score(parent: etree._Element, weight: float) -> None:
    sov = etree.SubElement(parent, _q("setOutcomeValue"), identifier="SCORE")
    total = etree.SubElement(sov, _q("sum"))
    etree.SubElement(total, _q("variable"), identifier="SCORE")
    etree.SubElement(total, _q("baseValue"), baseType="float").text = repr(float(weight))


def _test_tree(spec: str, items: dict[str, list[str]]) -> etree._Element:
    test = etree.Element(_q("assessmentTest"), nsmap={None: NS, "xsi": XSI})  # type: ignore[dict-item]
    test.set(f"{{{XSI}}}schemaLocation", SCHEMA)
    test.set("identifier", ident(spec))
    test.set("title", spec)
    part = etree.SubElement(test, _q("testPart"), identifier="PART_1", navigationMode="nonlinear")
    part.set("submissionMode", "simultaneous")
    for key, refs in items.items():
        section = etree.SubElement(part, _q("assessmentSection"), identifier=ident(f"S_{key}"))
        section.set("title", key)
        section.set("visible", "true")
        etree.SubElement(section, _q("selection"), select="1")  # one set per candidate
        for ref in refs:
            item_ref = etree.SubElement(section, _q("assessmentItemRef"), identifier=ident(Path(ref).stem))
            item_ref.set("href", ref)
    return test


def _manifest_tree(spec: str, items: dict[str, list[str]], shows: dict[str, list[str]]) -> etree._Element:
    # `shows`: the figures each item shows, by key.
    man = etree.Element(f"{{{CP}}}manifest", nsmap={None: CP, "xsi": XSI}, identifier=ident(f"M_{spec}"))  # type: ignore[dict-item]
    man.set(f"{{{XSI}}}schemaLocation", CP_SCHEMA)
    etree.SubElement(man, f"{{{CP}}}organizations")
    resources = etree.SubElement(man, f"{{{CP}}}resources")
    test = etree.SubElement(resources, f"{{{CP}}}resource", identifier="R_test", type="imsqti_test_xmlv2p1")
    test.set("href", "test.xml")
    etree.SubElement(test, f"{{{CP}}}file", href="test.xml")
    for refs in items.values():
        for ref in refs:
            etree.SubElement(test, f"{{{CP}}}dependency", identifierref=ident(f"R_{Path(ref).stem}"))
    for refs in items.values():
        for ref in refs:
            res = etree.SubElement(resources, f"{{{CP}}}resource", identifier=ident(f"R_{Path(ref).stem}"))
            res.set("type", "imsqti_item_xmlv2p1")
            res.set("href", ref)
            etree.SubElement(res, f"{{{CP}}}file", href=ref)
            for key in shows[ref]:
                etree.SubElement(res, f"{{{CP}}}file", href=f"items/figure-{key}.png")
    return man


__all__ = ["PACKAGE", "Qti21Writer", "ident", "xhtml"]
