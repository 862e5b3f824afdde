"""The build's jobs apart: planning, the LaTeX writer (errors located as data, PDF
workers in processes of their own), papers streamed a run at a time, settings read
once, generator modules kept per bank."""

from __future__ import annotations

from pathlib import Path

import pikepdf
import pytest

from qbgen import pdfjoin
from qbgen.bank import load_bank
from qbgen.build import build, build_papers
from qbgen.errors import EnvironmentProblem, TypesetError
from qbgen.models import Candidate
from qbgen.plan import Stream, plan
from qbgen.settings import load_settings
from qbgen.spec import load_spec
from qbgen.writers import LatexWriter

from .conftest import needs_tex, pdf_text, run_cli, write_tree
from .test_bad_input import GOOD_GEN, GOOD_Q, edit, make


def _two_question_bank(tmp_path: Path) -> Path:
    bank = make(tmp_path)
    other = GOOD_Q.replace("id: good", "id: other").replace("good_gen.py", "other_gen.py")
    write_tree(bank, {"q/other.yaml": other, "q/other_gen.py": GOOD_GEN})
    edit(bank / "exams" / "t.yaml", "max_marks: 2", "max_marks: 4")
    edit(bank / "exams" / "t.yaml", "[good]", "[good, other]")
    return bank


@needs_tex
def test_a_latex_error_names_its_paper_key_and_question_as_data(tmp_path):
    bank = _two_question_bank(tmp_path)
    # Only the key of a paper fails: the marking scheme is key-only text.
    edit(bank / "q" / "other.yaml", "Right square.", "Right square \\undefinedmacro.")
    b = load_bank(bank)
    loaded = load_spec(bank / "exams" / "t.yaml", b)
    with pytest.raises(TypesetError) as info:
        build(loaded, b, tmp_path / "out", variants=3, jobs=2)
    exc = info.value
    assert exc.question == "other" and exc.key is True and exc.paper in ("A", "B", "C")
    assert f"key {exc.paper}: question other: LaTeX error: Undefined control sequence" in str(exc)
    assert Path(exc.file).parent == tmp_path / "out" / "failed"
    # Through the CLI: the same, one line.
    r = run_cli(
        "build", bank / "exams" / "t.yaml", "--bank", bank, "--variants", "2", "--out", tmp_path / "o"
    )
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert "key A: question other: LaTeX error: Undefined control sequence" in r.stderr


@needs_tex
def test_pdf_workers_are_fresh_processes_and_a_failure_is_one_line(tmp_path, monkeypatch):
    bank = _two_question_bank(tmp_path)
    b = load_bank(bank)
    planned = plan(load_spec(bank / "exams" / "t.yaml", b), b, variants=3)
    out = tmp_path / "o"
    out.mkdir()
    names = LatexWriter(jobs=2).write(planned.papers, out)
    assert {"A/exam.pdf", "C/key.pdf", "exams.pdf", "keys.pdf"} <= set(names)
    # Cut the combined file again, in two worker processes (however few the pages).
    monkeypatch.setattr(pdfjoin, "IN_PROCESS_PAGES", 0)
    source = str(out / "exams.pdf")
    pages = len(pikepdf.open(source).pages)
    tasks = [[(str(tmp_path / f"p{i}.pdf"), [(source, i + 1, i + 1)])] for i in range(pages)]
    tasks.append([(str(tmp_path / "all.pdf"), [(source, 1, pages), None])])
    pdfjoin.Workers(2).run(tasks)
    assert [len(pikepdf.open(tmp_path / f"p{i}.pdf").pages) for i in range(pages)] == [1] * pages
    assert len(pikepdf.open(tmp_path / "all.pdf").pages) == pages + 1  # and the blank page
    assert pdf_text(tmp_path / "p0.pdf") == pdf_text(out / "A" / "exam.pdf").split("\f")[0] + "\f"
    missing = [[(str(tmp_path / "x.pdf"), [(str(tmp_path / "nowhere.pdf"), 1, 1)])], tasks[0]]
    with pytest.raises(RuntimeError, match=r"^writing the PDFs failed: .*nowhere\.pdf") as info:
        pdfjoin.Workers(2).run(missing)
    assert "\n" not in str(info.value)


@needs_tex
def test_papers_given_a_run_at_a_time_build_what_one_run_builds(tmp_path):
    # The build streams its papers (plan_stream); however they are cut into runs, every
    # file it writes is the same, byte for byte.
    bank = _two_question_bank(tmp_path)
    b = load_bank(bank)
    loaded = load_spec(bank / "exams" / "t.yaml", b)
    roster = [Candidate(id=f"S{i}", name=f"Student {i}") for i in range(5)]
    papers = plan(loaded, b, roster=roster).papers
    head = {"spec": "t", "seed": loaded.spec.seed, "roster": True}
    build_papers(Stream(5, iter([papers]), head), tmp_path / "one")
    build_papers(Stream(5, iter([(p,) for p in papers]), head), tmp_path / "each")
    files = sorted(p.relative_to(tmp_path / "one") for p in (tmp_path / "one").rglob("*") if p.is_file())
    assert len(files) > 5 * 3 and Path("crib.pdf") in files and Path("manifest.json") in files
    for f in files:
        assert (tmp_path / "one" / f).read_bytes() == (tmp_path / "each" / f).read_bytes(), f
    assert (
        sorted(p.relative_to(tmp_path / "each") for p in (tmp_path / "each").rglob("*") if p.is_file())
        == files
    )


def test_settings_are_read_once_and_checked():
    s = load_settings({"QBGEN_TEX_TIMEOUT": "2.5", "QBGEN_BANK": "/b", "XDG_CACHE_HOME": "/c"})
    assert s.tex_timeout == 2.5 and s.banks == (Path("/b"),) and s.cache_dir == Path("/c/qbgen")
    assert load_settings({"QBGEN_CACHE": "/x", "XDG_CACHE_HOME": "/c"}).cache_dir == Path("/x")
    assert load_settings({}).tex_timeout == 120 and load_settings({}).banks == ()
    for bad in ("abc", "-1", "0", "inf", "nan"):
        with pytest.raises(EnvironmentProblem, match="QBGEN_TEX_TIMEOUT: must be a positive number"):
            load_settings({"QBGEN_TEX_TIMEOUT": bad})


def test_a_bad_setting_is_one_line_through_the_cli():
    r = run_cli("list", env={"QBGEN_TEX_TIMEOUT": "soon"})
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.strip() == "error: QBGEN_TEX_TIMEOUT: must be a positive number of seconds, got 'soon'"


def test_qbgen_bank_names_the_default_bank(tmp_path):
    bank = make(tmp_path)
    r = run_cli("list", "--json", env={"QBGEN_BANK": str(bank)})
    assert r.returncode == 0, r.stderr
    assert '"id": "good"' in r.stdout and "momentum" not in r.stdout


def test_two_banks_keep_their_own_generator_modules(tmp_path):
    # Two banks whose generators share a file name (and question ids): loading the
    # second must not evict the first's module, whose Params pydantic resolves by name.
    one = make(tmp_path / "one")
    two = make(tmp_path / "two")
    edit(two / "q" / "good_gen.py", "p.x ** 2", "p.x ** 2 + 0")
    edit(two / "q" / "good_gen.py", "le=9", "le=5")
    first, second = load_bank(one), load_bank(two)
    g1, g2 = first.get("good").generator, second.get("good").generator
    assert g1.module is not g2.module and g1.module.__name__ != g2.module.__name__
    assert g1.Params.model_validate({"x": 9}).x == 9  # the first bank's own range
    with pytest.raises(ValueError):
        g2.Params.model_validate({"x": 9})
    assert g1.solve(g1.Params(x=3)).answers == {"sq": 9}


@needs_tex
def test_caches_keep_the_format_uncompressed_and_compiled_templates(tmp_path):
    bank = make(tmp_path)
    cache = tmp_path / "cache"
    env = {"QBGEN_CACHE": str(cache)}
    out = tmp_path / "o"
    r = run_cli("build", bank / "exams" / "t.yaml", "--bank", bank, "--out", out, env=env)
    assert r.returncode == 0, r.stderr
    (fmt,) = cache.glob("qbgen-*.fmt")
    assert fmt.read_bytes()[:2] != b"\x1f\x8b", "the cached format is stored uncompressed"
    compiled = sorted((cache / "jinja").iterdir())
    assert compiled, "compiled templates are cached"
    first = (out / "key.tex").read_text()
    # A second run reads the caches and writes the same paper.
    r = run_cli("build", bank / "exams" / "t.yaml", "--bank", bank, "--out", out, env=env)
    assert r.returncode == 0 and (out / "key.tex").read_text() == first
    assert sorted((cache / "jinja").iterdir()) == compiled
    # A template syntax error is still found with the cache warm (only good ones are kept).
    edit(bank / "q" / "good.yaml", "What is \\VAR{p.x} squared?", "What is \\VAR{p.x squared?")
    r = run_cli("build", bank / "exams" / "t.yaml", "--bank", bank, "--out", out, env=env)
    assert r.returncode == 2 and "good.yaml:" in r.stderr and "template syntax" in r.stderr
