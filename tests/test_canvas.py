"""`qbgen export --to canvas`: a QTI 1.2 package (a quiz per set) that validates against the
QTI ASI 1.2.1 DTD and IMS CP, holds the build's draws, and scores the key's intervals."""

import json
import math
import zipfile
from pathlib import Path

import pytest
from lxml import etree

from .conftest import needs_tex, run_cli
from .test_golden import _compare

pytestmark = needs_tex

SCHEMAS = Path(__file__).parent / "schemas"
QTI_NS = b' xmlns="http://www.imsglobal.org/xsd/ims_qtiasiv1p2"'


def _assessments(z):
    # The DTD predates namespaces: validate with the namespace stripped.
    return {
        n: etree.fromstring(z.read(n).replace(QTI_NS, b""))
        for n in z.namelist()
        if n.count("/") == 1 and n.endswith(".xml")
    }


@pytest.fixture(scope="module")
def package(tmp_path_factory):
    out = tmp_path_factory.mktemp("canvas")
    r = run_cli("export", "bank/exams/paper-b.yaml", "--to", "canvas", "--variants", "3", "--out", out)
    assert r.returncode == 0, r.stderr
    return out, zipfile.ZipFile(out / "canvas.zip")


def test_every_assessment_validates_against_the_qti12_dtd_and_the_manifest_against_ims_cp(package):
    _, z = package
    dtd = etree.DTD(str(SCHEMAS / "qti12" / "ims_qtiasiv1p2p1.dtd"))
    docs = _assessments(z)
    assert sorted(docs) == ["A/A.xml", "B/B.xml", "C/C.xml"]  # a quiz per set
    for name, doc in docs.items():
        assert dtd.validate(doc), (name, [str(e) for e in dtd.error_log.filter_from_errors()[:3]])
    cp = etree.XMLSchema(etree.parse(str(SCHEMAS / "qti12" / "imscp_v1p1.xsd")))
    manifest = etree.fromstring(z.read("imsmanifest.xml"))
    assert cp.validate(manifest), cp.error_log.filter_from_errors()[:3]
    listed = {f.get("href") for f in manifest.iter("{*}file")}
    assert listed == set(z.namelist()) - {"imsmanifest.xml"}
    bad = etree.fromstring(b"<questestinterop><assessment ident='x'><item/></assessment></questestinterop>")
    assert not dtd.validate(bad)  # the DTD check bites: items sit in a section


def test_the_package_holds_the_builds_draws_and_scores_the_keys_intervals(package, tmp_path):
    out, z = package
    built = tmp_path / "built"
    assert run_cli("build", "bank/exams/paper-b.yaml", "--variants", "3", "--out", built).returncode == 0
    for name in ("manifest.json", "A/manifest.json", "B/manifest.json", "C/manifest.json"):
        assert json.loads((out / name).read_text()) == json.loads((built / name).read_text()), name
    checked = 0
    for code, doc in zip("ABC", _assessments(z).values(), strict=True):
        ranges = [
            (float(c.findtext(".//and/vargte")), float(c.findtext(".//and/varlte")), c.findtext("setvar"))
            for c in doc.iter("respcondition")
            if c.find(".//and/vargte") is not None
        ]
        for record in json.loads((out / code / "manifest.json").read_text())["questions"]:
            for key, (low, high) in record["accept"].items():
                assert any(
                    math.isclose(lo, low) and math.isclose(hi, high) and s == "100" for lo, hi, s in ranges
                )
                for value in record["mistakes"].get(key, {}).values():
                    assert any(
                        math.isclose((lo + hi) / 2, value, abs_tol=1e-12) and s is None
                        for lo, hi, s in ranges
                    )
                checked += 1
    assert checked >= 30


def test_the_canvas_package_of_the_paper_as_set_is_unchanged(tmp_path):
    r = run_cli("export", "bank/exams/paper-b.yaml", "--to", "canvas", "--original", "--out", tmp_path)
    assert r.returncode == 0, r.stderr
    z = zipfile.ZipFile(tmp_path / "canvas.zip")
    _compare("canvas-paper-b-original/original.xml", z.read("original/original.xml").decode())
    _compare("canvas-paper-b-original/imsmanifest.xml", z.read("imsmanifest.xml").decode())
    _compare("canvas-paper-b-original/export-report.txt", (tmp_path / "export-report.txt").read_text())
