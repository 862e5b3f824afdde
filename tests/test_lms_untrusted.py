"""A roster's ids and names are untrusted: in every LMS export they are text, escaped once.

Each export is parsed as the LMS reads it: the XML with lxml, then the HTML it carries
(Moodle's CDATA, Canvas's `mattext`, QTI 2.1's XHTML) with lxml.html. A hostile id must
come back as exactly the characters typed: an element (`<img onerror>`) would be live, a
second escape would show `&lt;img` to students. Moodle's cloze parser reads the whole
question text, so an id spelling a subquestion must not become one. The names and
figures a generator gives (a declared mistake, a figure's alt text) are held to the same.
"""

import csv
import json
import re
import zipfile
from pathlib import Path

import pytest
from lxml import etree
from lxml import html as lxml_html

from qbgen.roster import folder_for
from qbgen.writers.lms import Texts, safe
from qbgen.writers.moodle import _html as moodle_html

from .conftest import cli, needs_tex
from .test_moodle import CLOZE, moodle_import_problems

pytestmark = needs_tex

SCHEMAS = Path(__file__).parent / "schemas"
QTI = {"q": "http://www.imsglobal.org/xsd/imsqti_v2p1"}
QTI12 = "{http://www.imsglobal.org/xsd/ims_qtiasiv1p2}"
BENIGN = "2024CS0001"
# Each a roster id qbgen accepts (printable, one line, its own folder), each hostile.
HOSTILE = [
    "<img src=x onerror=alert(1)>",
    "</small></p><script>alert(1)</script>",
    "a]]>b",
    "&amp;",
    '"q\'uote"',
    "{1:SHORTANSWER:=x}",
    "x~y\\z#}{",
]
IDS = [BENIGN, *HOSTILE]
NAMES = {sid: f'<b>{n}</b> &amp; ]]> "O\'Brien"' for n, sid in enumerate(IDS)}


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("untrusted")
    roster = tmp / "roster.csv"
    with roster.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "name"])
        w.writerows([sid, NAMES[sid]] for sid in IDS)
    out = {}
    for to in ("moodle", "canvas", "qti21"):
        r = cli("export", "bank/exams/paper-b.yaml", "--to", to, "--roster", roster, "--out", tmp / to)
        assert r.returncode == 0, r.stderr
        out[to] = tmp / to
    return out


def _fragment(html: str) -> lxml_html.HtmlElement:
    return lxml_html.fragment_fromstring(html, create_parent="div")


def _head(doc: lxml_html.HtmlElement) -> lxml_html.HtmlElement:
    # The line the question's text opens with: <p><small>Set CODE, question N</small></p>.
    first = doc[0]
    assert first.tag == "p" and len(first) == 1 and first[0].tag == "small", lxml_html.tostring(first)
    return first[0]


def _no_live_markup(doc: lxml_html.HtmlElement, where: str) -> None:
    # Nothing a name or id could have smuggled in: no script, no event handler, no <b>.
    assert not doc.xpath("//script | //b"), where
    assert not [el for el in doc.iter() if any(k.startswith("on") for k in el.attrib)], where


def _split_idnumber(q: etree._Element) -> tuple[str, str, str]:
    # SPEC:SET:NUMBER[:written], the set (a roster's id) as typed, colons and all.
    spec, rest = q.findtext("idnumber").removesuffix(":written").split(":", 1)
    sid, number = rest.rsplit(":", 1)
    return spec, sid, number


def _mistake_names(folder: Path, sid: str) -> set[str]:
    manifest = json.loads((folder / folder_for(sid) / "manifest.json").read_text())
    return {name for q in manifest["questions"] for named in q["mistakes"].values() for name in named}


def test_every_hostile_id_is_the_text_of_its_moodle_questions_head(exports):
    xml = (exports["moodle"] / "quiz.xml").read_bytes()
    assert moodle_import_problems(xml) == []
    root = etree.fromstring(xml)
    seen: dict[str, int] = {}
    for q in root.iter("question"):
        if q.get("type") == "category":
            continue
        _, sid, number = _split_idnumber(q)
        assert sid in IDS, sid  # the idnumber and the name are plain text fields: the id as typed
        assert q.findtext("name/text").startswith(f"{sid} {number} ")
        doc = _fragment(q.findtext("questiontext/text"))
        head = _head(doc)
        assert len(head) == 0 and head.text == f"Set {sid}, question {number}", (sid, head.text)
        _no_live_markup(doc, sid)
        seen[sid] = seen.get(sid, 0) + 1
    assert set(seen) == set(IDS) and len(set(seen.values())) == 1  # every student, as many questions


def test_an_id_spelling_a_cloze_subquestion_adds_none(exports):
    root = etree.fromstring((exports["moodle"] / "quiz.xml").read_bytes())
    blanks: dict[str, dict[str, int]] = {}
    for q in root.iter("question"):
        if q.get("type") != "cloze":
            continue
        _, sid, number = _split_idnumber(q)
        text = q.findtext("questiontext/text")
        blanks.setdefault(sid, {})[number] = len(CLOZE.findall(text))
        assert not [b for b in CLOZE.findall(text) if b[1] == "SHORTANSWER"], sid  # qbgen writes none
    assert blanks[BENIGN]
    for sid in HOSTILE:
        assert blanks[sid] == blanks[BENIGN], sid


def _moodle_feedback(q: etree._Element) -> list[str]:
    # The HTML of each answer's feedback: a numerical's <feedback>, a cloze blank's `#...`
    # (Moodle unescapes `\}` and `\#` in it).
    out = [t for t in q.xpath("answer/feedback/text/text()") if t]
    for _, _, body in CLOZE.findall(q.findtext("questiontext/text") or ""):
        for part in re.split(r"(?<!\\)~", body):
            if re.search(r"(?<!\\)#", part):
                out.append(re.split(r"(?<!\\)#", part, maxsplit=1)[1].replace("\\}", "}").replace("\\#", "#"))
    return out


def test_moodle_names_a_generators_mistakes_as_text(exports):
    root = etree.fromstring((exports["moodle"] / "quiz.xml").read_bytes())
    said = set()
    for q in root.iter("question"):
        if q.get("type") == "category" or _split_idnumber(q)[1] != BENIGN:
            continue
        for html in _moodle_feedback(q):
            doc = _fragment(html)
            assert [el.tag for el in doc.iter()] == ["div", "p", "span"], html
            said.add(re.sub(r"^(A known mistake|Accepted): |\.$", "", doc[0][0].text))
    named = _mistake_names(exports["moodle"], BENIGN)
    assert any("'" in n for n in named)  # a name an escaper spells differently
    assert named <= said


def test_every_hostile_id_is_text_in_its_canvas_quiz(exports):
    z = zipfile.ZipFile(exports["canvas"] / "canvas.zip")
    for sid in IDS:
        root = etree.fromstring(z.read(f"{safe(sid)}/{safe(sid)}.xml"))
        assessment = root.find(f"{QTI12}assessment")
        assert assessment.get("title") == f"paper-b, set {sid}"
        items = list(root.iter(f"{QTI12}item"))
        assert len(items) > 10
        for item in items:
            mattext = item.find(f"{QTI12}presentation/{QTI12}material/{QTI12}mattext")
            doc = _fragment(mattext.text)
            head = _head(doc)
            assert len(head) == 0, sid
            assert re.fullmatch(rf"Set {re.escape(sid)}, question \w+", head.text), head.text
            _no_live_markup(doc, sid)
        said = set()
        for fb in root.iter(f"{QTI12}itemfeedback"):
            doc = _fragment(fb.find(f".//{QTI12}mattext").text)
            assert [el.tag for el in doc] == ["p"] and len(doc[0]) == 0
            said.add(re.sub(r"^(A known mistake|Accepted): |\.$", "", doc[0].text))
        assert _mistake_names(exports["canvas"], sid) <= said


def test_every_hostile_id_is_text_in_its_qti21_items_and_they_validate(exports):
    schema = etree.XMLSchema(etree.parse(str(SCHEMAS / "qti21" / "imsqti_v2p1p2.xsd")))
    z = zipfile.ZipFile(exports["qti21"] / "qti21.zip")
    for sid in IDS:
        names = [n for n in z.namelist() if n.startswith(f"items/{safe(sid)}-") and n.endswith(".xml")]
        assert len(names) > 10
        said = set()
        for name in names:
            item = etree.fromstring(z.read(name))
            assert schema.validate(item), (name, schema.error_log.filter_from_errors()[:3])
            assert item.get("title").startswith(f"{sid} ")
            small = item.find("q:itemBody/q:div/q:p/q:small", QTI)
            assert len(small) == 0 and small.text.startswith(f"Set {sid}, question "), small.text
            assert not item.xpath(".//q:script | .//q:b | .//*[@onerror]", namespaces=QTI)
            for fb in item.iterfind("q:modalFeedback", QTI):
                assert len(fb) == 0
                said.add(re.sub(r"^(A known mistake|Accepted): |\.$", "", fb.text))
        assert _mistake_names(exports["qti21"], sid) <= said


def test_the_roster_names_reach_no_lms_file_and_the_manifest_keeps_them(exports):
    # A name is for the manifests (JSON): no LMS file shows it, as text or as markup.
    blobs = [(exports["moodle"] / "quiz.xml").read_bytes()]
    for to in ("canvas", "qti21"):
        z = zipfile.ZipFile(exports[to] / f"{to}.zip")
        blobs += [z.read(n) for n in z.namelist() if n.endswith(".xml")]
    assert all(b"Brien" not in blob for blob in blobs)
    manifest = json.loads((exports["moodle"] / folder_for(HOSTILE[0]) / "manifest.json").read_text())
    assert manifest["candidate"] == {"id": HOSTILE[0], "name": NAMES[HOSTILE[0]]}


@pytest.mark.parametrize("alt", ['AT&amp;T <b>x</b> "q" it\'s ]]> {1:SA:=x}', "&quot; onerror=alert(1) x"])
def test_a_figures_alt_text_is_an_attribute_escaped_once(alt):
    texts = Texts("@@PLUGINFILE@@/figure-{key}.png")
    i = texts.add(r"See \qbfigure[{" + alt + r"}]{0123abcd4567}{\begin{tikzpicture}\end{tikzpicture}}.")
    texts.convert()
    doc = _fragment(texts[i])
    imgs = doc.findall(".//img")
    assert len(imgs) == 1 and imgs[0].get("alt") == alt
    assert dict(imgs[0].attrib) == {"src": "@@PLUGINFILE@@/figure-0123abcd4567.png", "alt": alt}
    assert not doc.xpath("//b")


def test_moodle_text_holding_cdatas_end_is_kept_whole():
    parent = etree.Element("questiontext")
    html = "<p>x ]]> y</p>"
    moodle_html(parent, html, {})
    again = etree.fromstring(etree.tostring(parent))
    assert again.findtext("text") == html
