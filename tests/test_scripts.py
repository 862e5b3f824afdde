"""Any script prints: names, headers and bank text in Latin, Greek, Cyrillic, the scripts of
India, Urdu and CJK.

Real pdflatex and lualatex, real fonts (fontconfig's), PDFs read back with pdftotext. A
paper pdflatex can set stays with pdflatex (the speed of the bench); one that holds another
script is typeset by LuaLaTeX with the Noto fonts, in a document of its own; a character
no font has is one line naming its file.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import unicodedata
from pathlib import Path

import pytest

from .conftest import BANK, cli, copy_bank, needs_tex, pdf_text, run_cli, write_tree

needs_lualatex = pytest.mark.skipif(shutil.which("lualatex") is None, reason="lualatex not installed")

NAMES = {
    "s01": "Zoë Ørsted-Łukasz",  # Latin with accents: pdflatex
    "s02": "José Ñúñez",  # pdflatex
    "s03": "Nguyễn Thị Minh Khai",  # Vietnamese: beyond T1
    "s04": "Αλέξανδρος Παπαδόπουλος",  # Greek words, not math
    "s05": "Дмитрий Иванов",  # Cyrillic
    "s06": "प्रिया शर्मा",  # Devanagari
    "s07": "王小明",  # Chinese
    "s08": "田中太郎",  # Japanese
    "s09": "김민준",  # Korean
    "s10": "সৌমিত্র চট্টোপাধ্যায়",  # Bengali
    "s11": "ਹਰਪ੍ਰੀਤ ਸਿੰਘ",  # Gurmukhi
    "s12": "ધ્રુવ પટેલ",  # Gujarati
    "s13": "ସୁଭଦ୍ରା ମହାପାତ୍ର",  # Odia
    "s14": "கார்த்திக் சுப்ரமணியன்",  # Tamil
    "s15": "శ్రీనివాస్ రెడ్డి",  # Telugu
    "s16": "ಲಕ್ಷ್ಮೀ ನಾರಾಯಣ",  # Kannada
    "s17": "ശ്രീക്കുട്ടി മേനോൻ",  # Malayalam
    "s18": "عائشہ خان",  # Urdu: right to left
}
PDFLATEX = {"s01", "s02"}
RTL = {"s18"}
# Conjuncts and vowel signs that pdftotext reads back as whole words only when HarfBuzz
# shaped them in their own font (set glyph by glyph from a fallback font, प्रिया reads
# "प् रिया" and সৌমিত্র "সৌমিত্ র"; an unjoined Urdu name reads as isolated letter forms,
# ﻉﺍﺉﺵہ, and without right-to-left as ﻥﺍﺥ ہﺵﺉﺍﻉ).
WHOLE_WORDS = {"s06": "प्रिया शर्मा", "s10": "সৌমিত্র", "s11": "ਹਰਪ੍ਰੀਤ ਸਿੰਘ", "s15": "శ్రీనివాస్ రెడ్డి",
               "s16": "ಲಕ್ಷ್ಮೀ ನಾರಾಯಣ", "s17": "ശ്രീക്കുട്ടി മേനോൻ", "s18": "عائشہ"}  # fmt: skip
BIDI_MARKS = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069]")
HINDI = "भारतीय प्रौद्योगिकी संस्थान जम्मू"


def squeezed(text: str) -> str:
    # pdftotext may set a space inside a Devanagari word (between clusters): compare without;
    # it marks right-to-left runs, and may read a final Arabic letter as its presentation
    # form (ﻥ for ن): NFKC folds it back.
    return unicodedata.normalize("NFKC", re.sub(r"\s+", "", BIDI_MARKS.sub("", text)))


@pytest.fixture(scope="module")
def roster_build(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("scripts")
    roster = tmp / "roster.csv"
    roster.write_text("id,name\n" + "".join(f"{k},{v}\n" for k, v in NAMES.items()), "utf-8")
    out = tmp / "out"
    r = run_cli("build", "quiz", "--roster", roster, "--out", out)
    assert r.returncode == 0, r.stderr
    return out


@needs_tex
@needs_lualatex
def test_a_roster_in_every_script_builds_and_pdftotext_reads_each_name_back(roster_build):
    out = roster_build
    crib = squeezed(pdf_text(out / "crib.pdf"))
    # The crib lists every name, each set once by LuaLaTeX as an image: it stays pdflatex's.
    assert "% qbgen: fonts pdflatex" in (out / "crib.tex").read_text("utf-8")
    for sid, name in NAMES.items():
        exam = pdf_text(out / sid / "exam.pdf")
        # (An Urdu name's line is read in visual order: the id's brackets move.)
        said = name if sid in RTL else f"{name} ({sid})"
        assert squeezed(said) in squeezed(exam), (sid, exam[:300])
        manifest = json.loads((out / sid / "manifest.json").read_text("utf-8"))
        if any(q["accept"] for q in manifest["questions"]):  # the crib lists papers with numbers
            assert squeezed(name) in crib, sid
        # Only what pdflatex cannot set goes to LuaLaTeX: Latin names keep pdflatex's speed.
        source = (out / sid / "exam.tex").read_text("utf-8")
        assert ("% qbgen: fonts pdflatex" in source) == (sid in PDFLATEX), sid
    assert squeezed(NAMES["s06"]) in squeezed(pdf_text(out / "exams.pdf"))


@needs_tex
@needs_lualatex
def test_conjuncts_and_right_to_left_names_are_shaped_and_read_back_as_written(roster_build):
    out = roster_build
    for sid, words in WHOLE_WORDS.items():
        exam = BIDI_MARKS.sub("", pdf_text(out / sid / "exam.pdf"))
        assert words in exam, (sid, exam[:300])
        # Set in its script's own font, not Latin Modern's fallback.
        source = (out / sid / "exam.tex").read_text("utf-8")
        assert re.search(
            r"\{\\qb[A-Z][a-z]{3} (?:\\leavevmode\\textdir TRT )?" + re.escape(NAMES[sid]) + "}", source
        )
    # Right to left: the Urdu name reads in its own order, not mirrored.
    urdu = squeezed(pdf_text(out / "s18" / "exam.pdf"))
    assert squeezed(NAMES["s18"]) in urdu and squeezed(NAMES["s18"][::-1]) not in urdu


def test_every_script_of_the_roster_has_an_installed_font_fontconfig_names(tmp_path):
    # Tamil was once refused ("no installed font has it") with Noto Serif Tamil installed:
    # what is printable is what fontconfig says the fonts qbgen's LuaLaTeX block sets hold.
    from qbgen.scripts import FALLBACK_FONTS, SCRIPT_FONTS, unprintable

    if shutil.which("fc-match") is None:
        pytest.skip("fontconfig not installed")
    for sid, name in NAMES.items():
        assert unprintable(name) == [], sid
    assert unprintable("Ann \N{GRINNING FACE}") == ["\N{GRINNING FACE}"]
    # quickstart.sh installs what gives every one of these families.
    script = (Path(__file__).parents[1] / "quickstart.sh").read_text("utf-8")
    for family in FALLBACK_FONTS[1:]:
        assert f'"{family}"' in script, family
    assert {font.tag for font in SCRIPT_FONTS} >= {"Deva", "Beng", "Guru", "Gujr", "Orya", "Taml", "Telu"}


@needs_tex
@needs_lualatex
def test_names_in_other_scripts_are_set_once_by_lualatex_and_placed_in_pdflatex_documents(tmp_path):
    # A name in another script costs one LuaLaTeX run a build: each name is set once, in
    # qbnames.tex, and every document of papers stays pdflatex's, placing it as an image.
    from qbgen.bank import load_bank
    from qbgen.models import Candidate
    from qbgen.plan import plan
    from qbgen.scripts import LUALATEX_MARK, PDFLATEX_FONTS, PLAIN_MARK, adapt, names_document
    from qbgen.spec import load_spec
    from qbgen.writers import LatexWriter

    bank = load_bank(BANK)
    names = ["Ann Lee", NAMES["s06"], "Ben Ray", "Cy Dee", NAMES["s07"], "Dee Fox"]
    roster = [Candidate(id=f"s{i}", name=name) for i, name in enumerate(names)]
    planned = plan(load_spec(BANK / "exams" / "quiz.yaml", bank), bank, roster=roster)
    out = tmp_path / "o"
    out.mkdir()
    writer = LatexWriter(jobs=2)
    writer.start(out, len(roster))
    writer.add(planned.papers)  # renders every document; typesets none
    docs = [(group, path.read_text("utf-8")) for group, path in zip(writer.groups, writer.docs, strict=True)]
    assert sorted(i for group, _ in docs for i in group) == list(range(len(writer.units)))
    assert len(docs) == 2 and not any(LUALATEX_MARK in text for _, text in docs)
    # Each string once: the name line's, the paper's header and the key's; the paper's
    # own exam.tex stays LuaLaTeX's: it stands alone.
    said = [f"{NAMES['s06']} (s1)", f"{NAMES['s07']} (s4)"]
    heads = [*said, *(f"Answer Key {{-}}{{-}} {s}" for s in said)]
    assert sorted(writer.words.values()) == sorted([NAMES["s06"], NAMES["s07"], *heads]), writer.words
    assert LUALATEX_MARK in (out / "s1" / "exam.tex").read_text("utf-8")
    words = names_document(writer.words)
    # Plain LuaTeX (no LaTeX kernel, no fontspec: less memory), a font per script it needs.
    assert words.startswith(PLAIN_MARK) and "\\documentclass" not in words
    assert "\\font\\qbDevaR=" in words and "\\font\\qbHaniR=" in words and "qbTaml" not in words
    assert "{\\qbDeva " + NAMES["s06"] + "}" in words and "{\\qbHani " + NAMES["s07"] + "}" in words
    assert "s1/exam.pdf" in writer.finish()
    fonts = subprocess.run(["pdffonts", out / "s1" / "exam.pdf"], capture_output=True, text=True).stdout
    assert "LMRoman10-Regular" in fonts and " Type 1 " in fonts, fonts  # pdflatex's Latin Modern
    assert "NotoSerifDevanagari" in fonts, fonts  # the name: LuaLaTeX's, shaped by HarfBuzz
    assert squeezed(f"{NAMES['s06']} (s1)") in squeezed(pdf_text(out / "s1" / "exam.pdf"))
    # A document's block names the fonts its text needs only: a CJK face costs hundreds of MB.
    doc = "\\documentclass{article}\n" + PDFLATEX_FONTS + "\n\\begin{document}\nNAME\n\\end{document}\n"
    hindi, vietnamese = adapt(doc.replace("NAME", NAMES["s06"])), adapt(doc.replace("NAME", NAMES["s03"]))
    assert "qbDeva" in hindi and "CJK" not in hindi and "qbTaml" not in hindi
    assert LUALATEX_MARK in vietnamese and "newfontfamily" not in vietnamese


@needs_tex
@needs_lualatex
def test_the_institutes_name_in_hindi_prints_in_the_header(tmp_path):
    bank = copy_bank(tmp_path / "bank")
    spec = bank / "exams" / "quiz.yaml"
    text = spec.read_text("utf-8")
    assert "institute:" in text
    spec.write_text(re.sub(r"(?m)^institute:.*$", f'institute: "{HINDI}"', text), "utf-8")
    out = tmp_path / "out"
    r = run_cli("build", spec, "--bank", bank, "--out", out)
    assert r.returncode == 0, r.stderr
    for name in ("exam.pdf", "key.pdf"):
        assert squeezed(HINDI) in squeezed(pdf_text(out / name)), name


SYMBOL_Q = r"""
id: symbols
title: Unicode symbols in the text
topic: misc
kind: text
marks: 1
prompt: |
  With α = 0.5 and β₁ ≤ 1, the map x → 2 × x is monotone; in a formula, $α ≤ β₁$ holds.
answers:
  - kind: text
    text: Since α ≥ 0 and 2 × x grows with x.
rubric:
  - marks: 1
    text: Uses α ≥ 0.
"""
SYMBOL_SPEC = """
course: Symbols
max_marks: 1
sections:
  - questions: [symbols]
"""


@needs_tex
def test_unicode_letters_and_symbols_in_bank_text_typeset_with_pdflatex(tmp_path):
    bank = write_tree(tmp_path / "bank", {"misc/symbols.yaml": SYMBOL_Q, "exams/s.yaml": SYMBOL_SPEC})
    out = tmp_path / "out"
    r = run_cli("build", bank / "exams" / "s.yaml", "--bank", bank, "--out", out)
    assert r.returncode == 0, r.stderr
    assert "% qbgen: fonts pdflatex" in (out / "key.tex").read_text("utf-8")
    key = pdf_text(out / "key.pdf")
    for symbol in ("α", "β", "≤", "→", "×", "≥"):
        assert symbol in key, symbol


def test_a_character_no_font_has_is_one_line_naming_its_file_line_and_field(tmp_path):
    emoji = "\N{GRINNING FACE}"
    roster = tmp_path / "roster.csv"
    roster.write_text(f"id,name\ns1,Ann Lee\ns2,Ben {emoji} Ray\n", "utf-8")
    r = run_cli("build", "quiz", "--roster", roster, "--out", tmp_path / "o1")
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
    said = f"{emoji} (U+1F600 GRINNING FACE) cannot be printed: no installed font has it"
    assert r.stderr == f"error: {roster}:3: name: {said}\n"
    bank = write_tree(
        tmp_path / "bank",
        {
            "misc/symbols.yaml": SYMBOL_Q.replace("is monotone;", f"is monotone {emoji};"),
            "exams/s.yaml": SYMBOL_SPEC,
        },
    )
    r = run_cli("build", bank / "exams" / "s.yaml", "--bank", bank, "--out", tmp_path / "o2")
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
    qfile = bank / "misc" / "symbols.yaml"
    where = next(i for i, line in enumerate(qfile.read_text("utf-8").splitlines(), 1) if emoji in line)
    assert f"{qfile}:{where}: prompt: {emoji} (U+1F600" in r.stderr
    spec = copy_bank(tmp_path / "b2", ["dropout"]) / "exams" / "t.yaml"
    spec.write_text(f"course: Deep Learning {emoji}\nmax_marks: 1\nsections:\n  - questions: [dropout]\n")
    r = run_cli("build", spec, "--bank", spec.parent.parent, "--out", tmp_path / "o3")
    assert r.returncode == 2 and r.stderr.startswith(f"error: {spec}:1: course: {emoji} (U+1F600"), r.stderr
    assert not any((tmp_path / f"o{i}").exists() and any((tmp_path / f"o{i}").iterdir()) for i in (1, 2, 3))


@needs_tex
def test_the_shipped_papers_need_no_lualatex(tmp_path):
    # The papers' own text is Latin and symbols: every shipped spec, in English (the bank
    # also holds Hindi, which only a --languages build prints), stays with pdflatex.
    from qbgen.typeset import engine

    for spec in ("paper-a", "paper-b", "quiz"):
        r = cli("build", BANK / "exams" / f"{spec}.yaml", "--out", tmp_path / spec)
        assert r.returncode == 0, r.stderr
        for tex in (tmp_path / spec).glob("*.tex"):
            assert engine(tex) == "pdflatex", tex


@needs_tex
@needs_lualatex
def test_lua_in_a_lualatex_document_reads_nothing_outside_the_build_folder(tmp_path):
    # What pdflatex's openin_any=p does for TeX, the LuaLaTeX font block does for Lua.
    from qbgen.scripts import PDFLATEX_FONTS, adapt
    from qbgen.typeset import typeset

    elsewhere = tmp_path.parent / f"{tmp_path.name}-elsewhere"
    elsewhere.mkdir()
    victim, code = elsewhere / "victim.txt", elsewhere / "code.lua"
    victim.write_text("mine\n")
    code.write_text("return 42\n")
    probe = r"""\directlua{local f = io.open("/etc/hostname", "r")
      tex.print(f and "READ" or "REFUSED")
      tex.print(loadfile("CODE") and " LOADED" or " NOTLOADED")
      tex.print(os.remove("VICTIM") and " REMOVED" or " KEPT")
      tex.print(lfs.chdir and " CHDIR" or " NOCHDIR")
      tex.print(pcall(io.output, "OUTSIDE") and " WROTE" or " NOOUT")
      tex.print(debug.getupvalue and " UPVALUES" or " NOUPVALUES")}"""
    outside = elsewhere / "written.txt"
    probe = probe.replace("CODE", str(code)).replace("VICTIM", str(victim)).replace("OUTSIDE", str(outside))
    tex = tmp_path / "doc.tex"
    body = f"\\documentclass{{article}}\n{PDFLATEX_FONTS}\n\\begin{{document}}\nप्रिया {probe}\n"
    body += "\\end{document}\n"
    tex.write_text(adapt(body), "utf-8")
    text = pdf_text(typeset(tex))
    assert "REFUSED" in text and "READ" not in text.replace("REFUSED", ""), text
    assert "NOTLOADED" in text and "KEPT" in text and victim.read_text() == "mine\n", text
    for refused in ("NOCHDIR", "NOOUT", "NOUPVALUES"):  # no way round the checks
        assert refused in text, text
    assert not outside.exists()


def test_bank_text_may_not_reach_lua(tmp_path):
    bank = write_tree(
        tmp_path / "bank",
        {
            "misc/symbols.yaml": SYMBOL_Q.replace(
                "holds.", r"holds. \\csname directlua\\endcsname{os.exit()}"
            ),
            "exams/s.yaml": SYMBOL_SPEC,
        },
    )
    r = run_cli("build", bank / "exams" / "s.yaml", "--bank", bank, "--out", tmp_path / "o")
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
    assert "prompt: 'directlua' reaches Lua under LuaLaTeX; bank text may not run code" in r.stderr


@needs_tex
@needs_lualatex
def test_a_latex_error_in_a_lualatex_document_names_its_question_and_paper(tmp_path):
    bank = write_tree(
        tmp_path / "bank",
        {
            "misc/symbols.yaml": SYMBOL_Q.replace("holds.", r"holds. \undefinedmacro"),
            "exams/s.yaml": SYMBOL_SPEC,
        },
    )
    roster = tmp_path / "roster.csv"
    roster.write_text(f"id,name\ns1,Ann Lee\ns2,{NAMES['s06']}\ns3,Ben Ray\n", "utf-8")
    r = run_cli(
        "build", bank / "exams" / "s.yaml", "--bank", bank, "--roster", roster, "--out", tmp_path / "o"
    )
    assert r.returncode == 1 and r.stderr.count("\n") == 1, r.stderr
    assert "Undefined control sequence" in r.stderr and "symbols" in r.stderr, r.stderr


def test_names_are_marked_whole_or_a_word_each_and_runs_found_as_the_regex_finds_them():
    from qbgen.latex import escape
    from qbgen.scripts import WHOLE_NAME, _runs, _sub_runs, _wrap, mark_names

    assert mark_names(escape("Zoë Ørsted")) == "Zoë Ørsted"  # pdflatex sets it: no image
    name = escape(f"{NAMES['s06']} (s06)")
    assert re.fullmatch(r"\\qbname\{[0-9a-f]{12}\}\{" + re.escape(name) + r"\}", mark_names(name))
    # A long string: a \qbname a word (its lines may break), a right-to-left run whole.
    long = escape(f"Write {NAMES['s06']} or {NAMES['s18']} in full, " + "x" * WHOLE_NAME)
    marked = mark_names(long)
    assert re.findall(r"\\qbname\{[0-9a-f]{12}\}\{([^}]*)\}", marked) == [*NAMES["s06"].split(), NAMES["s18"]]
    assert marked.startswith("Write ") and marked.endswith("x" * WHOLE_NAME)
    text = " and ".join(NAMES.values()) + " \u0964 x\u200d " + "plain " * 50
    assert _sub_runs(_wrap, text) == _runs()[0].sub(_wrap, text)
