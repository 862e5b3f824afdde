"""Any script prints: names, headers and bank text in Latin, Greek, Cyrillic, Devanagari, CJK.

Real pdflatex and lualatex, PDFs read back with pdftotext. A document pdflatex can set
stays with pdflatex (the speed of the bench); one that holds another script is typeset
by LuaLaTeX with the Noto fonts; a character no font has is one line naming its file.
"""

from __future__ import annotations

import json
import re
import shutil

import pytest

from .conftest import BANK, copy_bank, needs_tex, pdf_text, run_cli, write_tree

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
}
PDFLATEX = {"s01", "s02"}
HINDI = "भारतीय प्रौद्योगिकी संस्थान जम्मू"


def squeezed(text: str) -> str:
    # pdftotext may set a space inside a Devanagari word (between clusters): compare without.
    return re.sub(r"\s+", "", text)


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
    for sid, name in NAMES.items():
        exam = pdf_text(out / sid / "exam.pdf")
        assert squeezed(f"{name} ({sid})") in squeezed(exam), (sid, exam[:300])
        manifest = json.loads((out / sid / "manifest.json").read_text("utf-8"))
        if any(q["accept"] for q in manifest["questions"]):  # the crib lists papers with numbers
            assert squeezed(name) in crib, sid
        # Only what pdflatex cannot set goes to LuaLaTeX: Latin names keep pdflatex's speed.
        source = (out / sid / "exam.tex").read_text("utf-8")
        assert ("% qbgen: fonts pdflatex" in source) == (sid in PDFLATEX), sid
    assert squeezed(NAMES["s06"]) in squeezed(pdf_text(out / "exams.pdf"))


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


def test_the_shipped_bank_needs_no_lualatex():
    # The papers' own text is Latin and symbols: every shipped spec stays with pdflatex.
    from qbgen.bank import load_bank
    from qbgen.scripts import engine_of

    bank = load_bank(BANK)
    for bq in bank.questions.values():
        assert engine_of(bq.path.read_text("utf-8")) == "pdflatex", bq.id


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
