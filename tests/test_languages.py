"""Questions in several languages: one draw, each language's text proved to print the same.

A small bank (a numeric question with parameters, a shuffled choice, a written part)
in English and Hindi is built in the parallel, columns and per-candidate layouts and read
back with pdftotext; a Hindi text with a number changed, or missing, fails `validate`
and `build` with the file, the line, the field and the language; the LMS exports carry
both languages (Moodle's multilang spans, QTI's xml:lang) and stay valid.
"""

from __future__ import annotations

import json
import re
import textwrap
import zipfile
from pathlib import Path

import pytest
from lxml import etree

from .conftest import cli, needs_tex, pdf_text, write_tree

SCHEMAS = Path(__file__).parent / "schemas"

GENERATOR = """
from pydantic import Field

from qbgen import authoring
from qbgen.authoring import Solution, agree


class Params(authoring.Params):
    w: float = Field(ge=-5, le=5)
    x: float = Field(ge=-5, le=5)
    b: float = Field(ge=-5, le=5)


def sample(rng):
    return Params(
        w=round(float(rng.uniform(0.1, 2)), 2),
        x=round(float(rng.uniform(0.5, 3)), 2),
        b=round(float(rng.uniform(0.1, 1)), 2),
    )


def solve(p):
    z = p.w * p.x + p.b
    return Solution(answers={"z": z, "relu": max(z, 0.0)})


def check(p, s):
    agree("z", p.b + p.x * p.w, s.answers["z"])
    agree("relu", max(0.0, p.b + p.x * p.w), s.answers["relu"])
"""

NEURON = r"""
id: neuron-output
title: A neuron's output
topic: fcnn
generator: neuron_output.py
prompt:
  en: |
    Consider the following neural network: one neuron with weight $w = \VAR{p.w}$,
    bias $b = \VAR{p.b}$ and input $x = \VAR{p.x}$. Compute its pre-activation $z$
    and its output after a ReLU.
  hi: |
    निम्नलिखित तंत्रिका नेटवर्क पर विचार करें: एक न्यूरॉन जिसका भार $w = \VAR{p.w}$,
    अभिनति $b = \VAR{p.b}$ और निवेश $x = \VAR{p.x}$ है। इसका पूर्व-सक्रियण $z$
    तथा ReLU के बाद इसका निर्गम ज्ञात कीजिए।
answers:
  - kind: numeric
    key: z
    tolerance: 0.01
    label: {en: Pre-activation, hi: पूर्व-सक्रियण}
  - kind: numeric
    key: relu
    tolerance: 0.01
    label: {en: Output, hi: निर्गम}
rubric:
  - marks: 1
    text: {en: 'Computes $z = wx + b = \VAR{a.z}$.', hi: '$z = wx + b = \VAR{a.z}$ की गणना करता है।'}
  - marks: 1
    text: {en: Applies the ReLU., hi: ReLU लागू करता है।}
"""

CHOICE = r"""
id: activation-choice
title: An activation for probabilities
topic: fcnn
prompt:
  en: Which activation gives the output layer of a 3-class classifier probabilities that add up to 1?
  hi: किस सक्रियण फलन से 3-वर्गीय वर्गीकरणकर्ता की निर्गम परत की प्रायिकताओं का योग 1 होता है?
answers:
  - kind: choice
    shuffle: true
    options:
      - text: {en: Softmax, hi: सॉफ्टमैक्स}
        correct: true
      - text: {en: Sigmoid on each of the 3 outputs, hi: तीनों 3 निर्गमों पर सिग्मॉइड}
      - text: {en: ReLU, hi: ReLU}
      - text: {en: 'tanh, scaled by 0.5', hi: '0.5 से मापित tanh'}
rubric:
  - marks: 1
    text: {en: Softmax, hi: सॉफ्टमैक्स}
"""

DEPTH = r"""
id: why-depth
title: Why depth
topic: fcnn
prompt:
  en: Explain why a deep network may need fewer units than a shallow one after training.
  hi: समझाइए कि प्रशिक्षण के बाद एक गहरे नेटवर्क को उथले नेटवर्क की तुलना में कम इकाइयों की आवश्यकता क्यों हो सकती है।
parts:
  - prompt: {en: Give one reason., hi: एक कारण दीजिए।}
    answers:
      - kind: text
        label: {en: Reason, hi: कारण}
        text: {en: Composition of features reuses them., hi: विशेषताओं का संयोजन उनका पुनः उपयोग करता है।}
    rubric:
      - {marks: 2, text: {en: Names composition., hi: संयोजन का उल्लेख करता है।}}
"""

SPEC = """
course: Deep Learning
title: Quiz
max_marks: 5
seed: 7
shuffle_options: true
languages: [en, hi]
sections:
  - questions: [neuron-output, activation-choice, why-depth]
"""


def _bank(root: Path, **changed: str) -> Path:
    files = {
        "fcnn/neuron_output.py": GENERATOR,
        "fcnn/neuron-output.yaml": NEURON,
        "fcnn/activation-choice.yaml": CHOICE,
        "fcnn/why-depth.yaml": DEPTH,
        "exams/quiz.yaml": SPEC,
    }
    files.update(changed)
    return write_tree(root, files)


# The choice's options, English to Hindi, as pdftotext reads them with spaces taken out.
TRANSLATED = {
    "Softmax": "सॉफ्टमैक्स",
    "Sigmoidoneachofthe3outputs": "तीनों3निर्गमोंपरसिग्मॉइड",
    "ReLU": "ReLU",
    "tanh,scaledby0.5": "0.5सेमापितtanh",
}


def _numbers(text: str) -> list[str]:
    # Every number as pdftotext gives it (a real minus sign is U+2212).
    return re.findall(r"[−-]?\d+(?:\.\d+)?", text)


def _between(text: str, start: str, end: str) -> str:
    i = text.index(start)
    return text[i : text.index(end, i + len(start))]


def _line_of(text: str, needle: str) -> int:
    # The 1-based line of the first line holding `needle` in a file written from `text`.
    lines = textwrap.dedent(text).lstrip("\n").splitlines()
    return next(n for n, line in enumerate(lines, 1) if needle in line)


@pytest.fixture(scope="module")
def bank(tmp_path_factory):
    return _bank(tmp_path_factory.mktemp("langbank"))


# --------------------------------------------------------------------------- builds


@needs_tex
def test_parallel_paper_prints_the_same_numbers_in_both_languages(bank, tmp_path):
    out = tmp_path / "out"
    r = cli("build", bank / "exams" / "quiz.yaml", "--bank", bank, "--languages", "en,hi", "--out", out)
    assert r.returncode == 0, r.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["languages"] == ["en", "hi"] and manifest["layout"] == "parallel"
    params = manifest["questions"][0]["params"]
    exam = pdf_text(out / "exam.pdf")
    english = _between(exam, "Consider the following", "ReLU.")
    hindi = _between(exam, "निम्नलिखित", "ज्ञात")
    drawn = [f"{params[k]:g}" for k in ("w", "b", "x")]  # as the manifest has them, in the text's order
    assert _numbers(english) == drawn
    assert _numbers(hindi) == _numbers(english)
    # The choice: each letter holds one option in both languages (one shuffled order), and
    # the letter the manifest scores correct is Softmax in both.
    choice = _between(exam, "2. Which", "3. Explain")
    by_letter: dict[str, list[str]] = {}
    for letter, said in re.findall(r"\(([A-D])\) ([^\n]+)", choice):
        by_letter.setdefault(letter, []).append(said.replace(" ", ""))
    assert sorted(by_letter) == ["A", "B", "C", "D"]
    for letter, said in by_letter.items():
        assert len(said) == 2 and TRANSLATED.get(said[0]) == said[1], (letter, said)
    (correct,) = manifest["questions"][1]["scoring"]["2"]["answers"]["choice"]["correct"]
    assert by_letter["ABCD"[correct]] == ["Softmax", "सॉफ्टमैक्स"]
    # Devanagari comes back whole from the PDF, conjuncts and all (LuaLaTeX, Noto).
    for conjunct in ("त्र", "क्ष", "प्र"):
        assert conjunct in exam, conjunct
    # The key follows the paper: labels and marking scheme in both languages, the same value.
    key = pdf_text(out / "key.pdf")
    z = _between(key, "Pre-activation:", "\n")
    z_hi = _between(key, "पूर्व-सक्रियण:", "\n")
    assert _numbers(z) and _numbers(z) == _numbers(z_hi)
    assert "संयोजनकाउल्लेखकरताहै" in key.replace(" ", "") and "Names composition." in key


@needs_tex
def test_columns_paper_sets_the_languages_side_by_side(bank, tmp_path):
    out = tmp_path / "out"
    r = cli(
        "build", bank / "exams" / "quiz.yaml", "--bank", bank, "--languages", "en,hi",
        "--layout", "columns", "--out", out,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert json.loads((out / "manifest.json").read_text())["layout"] == "columns"
    laid = pdf_text(out / "exam.pdf", layout=True)
    # Side by side: the English first line and the Hindi first line share a line of the page.
    first = next(line for line in laid.splitlines() if "Consider the following" in line)
    assert "निम्नलिखित" in first
    plain = pdf_text(out / "exam.pdf")
    assert _numbers(_between(plain, "Consider the following", "ReLU.")) == _numbers(
        _between(plain, "निम्नलिखित", "ज्ञात")
    )


@needs_tex
def test_a_paper_per_candidate_in_their_language(bank, tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text("id,name,language\ns1,Asha Rao,en\ns2,Vikram Singh,hi\ns3,Meera Iyer,\n")
    out = tmp_path / "out"
    r = cli(
        "build", bank / "exams" / "quiz.yaml", "--bank", bank, "--languages", "en,hi",
        "--layout", "candidate", "--roster", roster, "--out", out,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    hindi = pdf_text(out / "s2" / "exam.pdf")
    english = pdf_text(out / "s1" / "exam.pdf")
    assert "निम्नलिखित" in hindi and "Consider the following" not in hindi
    assert "Consider the following" in english and "निम्नलिखित" not in english
    assert "Consider the following" in pdf_text(out / "s3" / "exam.pdf")  # no language: the first
    languages = {s: json.loads((out / s / "manifest.json").read_text())["languages"] for s in ("s1", "s2")}
    assert languages == {"s1": ["en"], "s2": ["hi"]}
    params = json.loads((out / "s2" / "manifest.json").read_text())["questions"][0]["params"]
    assert _numbers(_between(hindi, "निम्नलिखित", "ज्ञात")) == [f"{params[k]:g}" for k in ("w", "b", "x")]


def test_a_roster_language_the_spec_has_not_is_one_line(bank, tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text("id,name,language\ns1,Asha Rao,en\ns2,Kavya Nair,ta\n")
    r = cli(
        "build", bank / "exams" / "quiz.yaml", "--bank", bank, "--layout", "candidate",
        "--roster", roster, "--out", tmp_path / "out",
    )  # fmt: skip
    assert r.returncode == 2
    assert r.stderr.strip() == (
        f"error: {roster}:3: language: 'ta' is not one of the spec's languages (en, hi)"
    )
    assert "Traceback" not in r.stderr


# --------------------------------------------------------------------------- the proof


HINDI_X = r"निवेश $x = \VAR{p.x}$"


@pytest.mark.parametrize(
    ("changed", "says"),
    [
        (r"निवेश $x = \VAR{p.w}$", "prints {w} where en prints {x}"),  # a number changed
        (r"निवेश $x$", "has 2 numbers where en has 3 ({x} missing)"),  # a number left out
        (r"निवेश $x = \VAR{p.x}$, 0.25", "has 4 numbers where en has 3 (0.25 extra)"),  # one added
    ],
)
def test_a_wrong_hindi_number_fails_validate_and_build_naming_it(tmp_path, changed, says):
    text = NEURON.replace(HINDI_X, changed)
    assert text != NEURON
    bank = _bank(tmp_path / "bank", **{"fcnn/neuron-output.yaml": text})
    where = f"{bank / 'fcnn' / 'neuron-output.yaml'}:{_line_of(text, '  hi: |')}: prompt (hi): "
    v = cli("validate", "--bank", bank, "--seeds", "3", "--question", "neuron-output")
    assert v.returncode == 1, v.stdout + v.stderr
    assert where in v.stdout + v.stderr
    b = cli("build", bank / "exams" / "quiz.yaml", "--bank", bank, "--out", tmp_path / "out", "--seed", "4")
    assert b.returncode == 2 and "Traceback" not in b.stderr
    assert len(b.stderr.strip().splitlines()) == 1
    line = b.stderr.strip()
    assert line.startswith(f"error: {where}")
    # (the very numbers, from a draw read back, in test_the_proof_names_the_drawn_number)
    if "{w}" in says:  # the changed number: it prints w where English prints x (both drawn)
        assert re.search(r"prints \d+(\.\d+)? where en prints \d+(\.\d+)?$", line), line
    elif "missing" in says:
        assert re.search(r"has 2 numbers where en has 3 \(\d+(\.\d+)? missing\)$", line), line
    else:
        assert line.endswith("has 4 numbers where en has 3 (0.25 extra)"), line


def test_the_proof_names_the_drawn_number(tmp_path):
    # With the draw read from the paper's manifest, the message names the very number.
    from qbgen.assemble import instantiate
    from qbgen.bank import load_bank
    from qbgen.errors import InputError

    text = NEURON.replace(HINDI_X, r"निवेश $x$")
    bank = load_bank(_bank(tmp_path / "bank", **{"fcnn/neuron-output.yaml": text}))
    bq = bank.get("neuron-output")
    drawn = instantiate(bq, "1", 5)  # the bank's language alone: no proof asked
    x = f"{drawn.params['x']:g}"
    with pytest.raises(InputError) as caught:
        instantiate(bq, "1", 5, languages=["en", "hi"])
    assert str(caught.value).endswith(f"prompt (hi): has 2 numbers where en has 3 ({x} missing)")


def test_a_missing_translation_fails_naming_field_line_and_language(tmp_path):
    text = CHOICE.replace("{en: ReLU, hi: ReLU}", "ReLU")
    assert text != CHOICE
    bank = _bank(tmp_path / "bank", **{"fcnn/activation-choice.yaml": text})
    where = (
        f"{bank / 'fcnn' / 'activation-choice.yaml'}:{_line_of(text, '- text: ReLU')}: "
        "answers.0.options.2.text (hi): no hi text"
    )
    v = cli("validate", "--bank", bank, "--seeds", "2", "--question", "activation-choice")
    assert v.returncode == 1 and where in v.stdout + v.stderr, v.stdout + v.stderr
    b = cli("build", bank / "exams" / "quiz.yaml", "--bank", bank, "--out", tmp_path / "out")
    assert b.returncode == 2 and b.stderr.startswith(f"error: {where}"), b.stderr
    assert "Traceback" not in b.stderr


def test_a_mapping_without_the_bank_language_is_one_line(tmp_path):
    text = DEPTH.replace("{en: Give one reason., hi: एक कारण दीजिए।}", "{hi: एक कारण दीजिए।}")
    bank = _bank(tmp_path / "bank", **{"fcnn/why-depth.yaml": text})
    where = f"{bank / 'fcnn' / 'why-depth.yaml'}:{_line_of(text, '- prompt:')}: parts[0].prompt: no en text"
    v = cli("validate", "--bank", bank, "--seeds", "1", "--question", "why-depth")
    assert v.returncode == 1 and where in v.stdout, v.stdout + v.stderr
    b = cli("build", bank / "exams" / "quiz.yaml", "--bank", bank, "--out", tmp_path / "out")
    assert b.returncode == 2 and b.stderr.startswith(f"error: {where}"), b.stderr
    assert len(b.stderr.strip().splitlines()) == 1


def test_a_layout_without_languages_and_a_bad_option_are_one_line(bank, tmp_path):
    r = cli("build", bank / "exams" / "quiz.yaml", "--bank", bank, "--layout", "sideways", "--out", tmp_path)
    assert (
        r.returncode == 2
        and r.stderr.strip() == "error: --layout: 'sideways': a layout is parallel, columns or candidate"
    )
    r = cli(
        "build", bank / "exams" / "quiz.yaml", "--bank", bank, "--languages", "en,Hindi", "--out", tmp_path
    )
    assert r.returncode == 2 and r.stderr.strip() == (
        "error: --languages: 'en,Hindi': language codes separated by commas (en,hi)"
    )


def test_validate_passes_a_faithful_translation(bank):
    v = cli("validate", "--bank", bank, "--seeds", "5")
    assert v.returncode == 0, v.stdout + v.stderr


# --------------------------------------------------------------------------- LMS


def test_moodle_says_both_languages_in_multilang_spans(bank, tmp_path):
    r = cli("export", bank / "exams" / "quiz.yaml", "--bank", bank, "--to", "moodle", "--out", tmp_path / "m")
    assert r.returncode == 0, r.stderr
    xml = (tmp_path / "m" / "quiz.xml").read_text()
    root = etree.fromstring(xml.encode())
    texts = [t.text or "" for t in root.iter("text")]
    prompt = next(t for t in texts if "Consider the following" in t)
    spans = re.findall(r'<span lang="(\w+)" class="multilang">', prompt)
    # each text its English then its Hindi: the stem, then each answer's label
    assert spans and spans == ["en", "hi"] * (len(spans) // 2) and "निम्नलिखित" in prompt
    labels = [t for t in texts if 'class="multilang">Pre-activation' in t]
    assert labels and 'lang="hi" class="multilang">पूर्व-सक्रियण' in labels[0]


def test_qti21_says_both_languages_with_xml_lang_and_stays_valid(bank, tmp_path):
    r = cli("export", bank / "exams" / "quiz.yaml", "--bank", bank, "--to", "qti21", "--out", tmp_path / "q")
    assert r.returncode == 0, r.stderr
    schema = etree.XMLSchema(etree.parse(str(SCHEMAS / "qti21" / "imsqti_v2p1p2.xsd")))
    lang = "{http://www.w3.org/XML/1998/namespace}lang"
    seen = 0
    with zipfile.ZipFile(tmp_path / "q" / "qti21.zip") as z:
        for name in z.namelist():
            if not name.endswith(".xml") or name == "imsmanifest.xml":
                continue
            doc = etree.fromstring(z.read(name))
            if doc.tag.endswith("assessmentItem"):
                assert schema.validate(doc), (name, schema.error_log.last_error)
                said = [el.get(lang) for el in doc.iter() if el.get(lang)]
                assert said[0] == "en" and "hi" in said
                seen += 1
    assert seen == 3
    assert "xml:lang" in (tmp_path / "q" / "export-report.txt").read_text()


def test_canvas_takes_the_primary_language_and_says_so(bank, tmp_path):
    r = cli("export", bank / "exams" / "quiz.yaml", "--bank", bank, "--to", "canvas", "--out", tmp_path / "c")
    assert r.returncode == 0, r.stderr
    report = (tmp_path / "c" / "export-report.txt").read_text()
    assert "Canvas takes one language: the quiz is in en only, not hi" in report
    with zipfile.ZipFile(tmp_path / "c" / "canvas.zip") as z:
        body = "".join(z.read(n).decode() for n in z.namelist() if n.endswith(".xml"))
    assert "Consider the following" in body and "निम्नलिखित" not in body


def test_the_schema_takes_text_in_several_languages():
    import jsonschema
    import yaml

    from qbgen.models import json_schemas

    schema = json_schemas()["question"]
    for text in (NEURON, CHOICE, DEPTH):
        jsonschema.validate(yaml.safe_load(textwrap.dedent(text)), schema)
    wrong = yaml.safe_load(textwrap.dedent(CHOICE.replace("{en: ReLU, hi: ReLU}", "{en: ReLU, Hindi: ReLU}")))
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(wrong, schema)
