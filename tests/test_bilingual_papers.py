"""The shipped papers in Hindi (issue 27, item 3), read back from the PDFs.

Paper B in English and in Hindi, from the same draw, must print the same numbers in the
same order (pdftotext, not the YAML); the bilingual paper prints each picture once and
its Devanagari reads back with its conjuncts; a Hindi number changed in a copy of the
bank is caught by `validate`, naming the file, line, field and language.
"""

from __future__ import annotations

import re
from collections import Counter

import pytest

from .conftest import BANK, cli, copy_bank, needs_tex, pdf_text

NUMBER = re.compile(r"-?\d+(?:[.,]\d+)*")


def _numbers(path, pattern=NUMBER):
    # Every number a PDF prints, in reading order, its page footers aside.
    lines = [line for line in pdf_text(path).splitlines() if not re.match(r"\s*Page \d+", line)]
    return pattern.findall("\n".join(lines))


@pytest.fixture(scope="module")
def papers(tmp_path_factory):
    root = tmp_path_factory.mktemp("bilingual")
    out = {}
    for name, extra in (("en", []), ("hi", ["--languages", "hi"]), ("both", ["--languages", "en,hi"])):
        r = cli("build", BANK / "exams" / "paper-b.yaml", "--original", *extra, "--out", root / name)
        assert r.returncode == 0, r.stderr
        out[name] = root / name
    return out


@needs_tex
def test_the_hindi_paper_prints_the_english_papers_numbers_in_order(papers):
    en, hi = _numbers(papers["en"] / "exam.pdf"), _numbers(papers["hi"] / "exam.pdf")
    assert len(en) > 50
    assert en == hi
    # The key: every computed value (a number with decimals) the English key prints, the
    # Hindi key prints too; their order may differ only where a marks column interleaves.
    decimals = re.compile(r"-?\d+\.\d+")
    en_key, hi_key = (
        _numbers(papers["en"] / "key.pdf", decimals),
        _numbers(papers["hi"] / "key.pdf", decimals),
    )
    assert len(en_key) > 100
    assert Counter(en_key) == Counter(hi_key)


@needs_tex
def test_the_bilingual_paper_sets_both_once_each_picture(papers):
    both = papers["both"]
    text = pdf_text(both / "exam.pdf")
    # Devanagari with conjuncts (त्र, क्ष, प्र) comes back from the PDF.
    for word in ("त्रुटि", "प्रशिक्षण", "परीक्षण"):
        assert word in text, word
    assert "Consider the following neural network with momentum" in text
    # Each language's numbers: the paper's own, so every English number is there.
    assert Counter(_numbers(papers["en"] / "exam.pdf")) <= Counter(_numbers(both / "exam.pdf"))
    # A picture or listing is set once, as in the English paper.
    tex_en, tex_both = ((papers[k] / "exam.tex").read_text() for k in ("en", "both"))
    for macro in (r"\qbfigure[", r"\begin{lstlisting}"):
        assert tex_both.count(macro) == tex_en.count(macro) > 0, macro
    assert '"languages": [\n    "en",\n    "hi"\n  ]' in (both / "manifest.json").read_text()


@needs_tex
def test_a_hindi_number_changed_is_caught_by_validate(tmp_path):
    bank = copy_bank(tmp_path / "bank")
    path = bank / "training" / "underfitting-more-data.yaml"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    n = next(i for i, line in enumerate(lines) if "10,000 उदाहरणों पर प्रशिक्षित" in line)
    lines[n] = lines[n].replace("10,000", "10,001", 1)
    path.write_text("".join(lines), encoding="utf-8")
    r = cli("validate", "--bank", bank, "-q", "underfitting-more-data", "--seeds", "2")
    assert r.returncode == 1
    out = r.stdout + r.stderr
    assert re.search(r"underfitting-more-data\.yaml:\d+: prompt \(hi\): .*10,?001", out), out
