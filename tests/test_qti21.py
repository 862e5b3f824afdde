"""`qbgen export --to qti21`: an IMS QTI 2.1 package whose every item validates against the
QTI 2.1.2 schema, whose manifest validates against IMS CP 1.1, with the build's draws."""

import json
import math
import zipfile
from pathlib import Path

import pytest
from lxml import etree

from .conftest import needs_tex, run_cli

pytestmark = needs_tex

SCHEMAS = Path(__file__).parent / "schemas"
NS = {"q": "http://www.imsglobal.org/xsd/imsqti_v2p1", "cp": "http://www.imsglobal.org/xsd/imscp_v1p1"}


@pytest.fixture(scope="module")
def package(tmp_path_factory):
    out = tmp_path_factory.mktemp("qti21")
    r = run_cli("export", "bank/exams/paper-b.yaml", "--to", "qti21", "--variants", "3", "--out", out)
    assert r.returncode == 0, r.stderr
    return out, zipfile.ZipFile(out / "qti21.zip")


@pytest.fixture(scope="module")
def qti_schema():
    return etree.XMLSchema(etree.parse(str(SCHEMAS / "qti21" / "imsqti_v2p1p2.xsd")))


def test_every_item_and_the_test_validate_against_the_qti_schema(package, qti_schema):
    _, z = package
    docs = [n for n in z.namelist() if n.endswith(".xml") and n != "imsmanifest.xml"]
    assert len(docs) > 30
    for name in docs:
        doc = etree.fromstring(z.read(name))
        assert qti_schema.validate(doc), (name, qti_schema.error_log.filter_from_errors()[:3])


def test_the_schema_check_bites(qti_schema):
    bad = b"""<assessmentItem xmlns="http://www.imsglobal.org/xsd/imsqti_v2p1" identifier="x"
      title="x" adaptive="false" timeDependent="false"><itemBody><img src="a.png"/></itemBody>
      </assessmentItem>"""
    assert not qti_schema.validate(etree.fromstring(bad))  # an image without alt


def test_the_manifest_validates_and_lists_every_file(package):
    _, z = package
    cp = etree.XMLSchema(etree.parse(str(SCHEMAS / "qti12" / "imscp_v1p1.xsd")))
    manifest = etree.fromstring(z.read("imsmanifest.xml"))
    assert cp.validate(manifest), cp.error_log.filter_from_errors()[:3]
    listed = {f.get("href") for f in manifest.iterfind(".//cp:file", NS)}
    assert listed == set(z.namelist()) - {"imsmanifest.xml"}


def test_the_package_holds_the_builds_draws(package, tmp_path):
    out, _ = package
    built = tmp_path / "built"
    r = run_cli("build", "bank/exams/paper-b.yaml", "--variants", "3", "--out", built)
    assert r.returncode == 0, r.stderr
    for name in ("manifest.json", "A/manifest.json", "B/manifest.json", "C/manifest.json"):
        assert json.loads((out / name).read_text()) == json.loads((built / name).read_text()), name


def _intervals(item):
    # (low, high) of each response condition's first branch and of its mistake branches.
    right, wrong = [], []
    for cond in item.iterfind(".//q:responseCondition", NS):
        for i, branch in enumerate(cond):
            bounds = [float(b.text) for b in branch.iterfind("q:and/*/q:baseValue", NS)]
            if len(bounds) == 2:
                (right if i == 0 else wrong).append(tuple(bounds))
    return right, wrong


def test_every_accepted_interval_and_mistake_is_scored_as_the_key_says(package):
    out, z = package
    checked = 0
    for code in "ABC":
        manifest = json.loads((out / code / "manifest.json").read_text())
        for record in manifest["questions"]:
            items = [
                etree.fromstring(z.read(n))
                for n in z.namelist()
                if n.startswith(f"items/{code}-{record['number']}") and n.endswith(".xml")
            ]
            right = [iv for it in items for iv in _intervals(it)[0]]
            wrong = [iv for it in items for iv in _intervals(it)[1]]
            for key, (low, high) in record["accept"].items():
                assert any(math.isclose(lo, low) and math.isclose(hi, high) for lo, hi in right), key
                for value in record["mistakes"].get(key, {}).values():
                    assert any(math.isclose((lo + hi) / 2, value, abs_tol=1e-12) for lo, hi in wrong), key
                checked += 1
    assert checked >= 30


def test_one_set_of_each_question_per_candidate_and_graders_see_the_scheme(package):
    _, z = package
    test = etree.fromstring(z.read("test.xml"))
    sections = test.findall(".//q:assessmentSection", NS)
    assert sections and all(s.find("q:selection", NS).get("select") == "1" for s in sections)
    assert all(len(s.findall("q:assessmentItemRef", NS)) == 3 for s in sections)  # sets A, B, C
    item = etree.fromstring(z.read("items/A-1a.xml"))
    rubric = item.find(".//q:rubricBlock", NS)
    assert rubric.get("view") == "scorer" and "Marking scheme" in etree.tostring(rubric, encoding="unicode")
    images = [
        im for n in z.namelist() if n.endswith(".xml") for im in etree.fromstring(z.read(n)).iter("{*}img")
    ]
    assert images and all(im.get("alt") and f"items/{im.get('src')}" in z.namelist() for im in images)
    choice = next(
        etree.fromstring(z.read(n)).find(".//q:choiceInteraction", NS)
        for n in z.namelist()
        if n.endswith(".xml") and etree.fromstring(z.read(n)).find(".//q:choiceInteraction", NS) is not None
    )
    assert choice.get("shuffle") == "false"
