"""`qbgen site`: the bank as a static HTML site, checked in a real headless Chromium.

Every page is opened from disk (file://) with the network cut off: the math must render
with the bundled KaTeX (no `.katex-error`, no raw TeX left in the visible text), every
figure must load, the index must link every question and filter by topic and tag, and
the numbers a page shows must be those qbgen's own manifests carry.
"""

from __future__ import annotations

import json
import os
import re
import shutil

import pytest

from .conftest import ROOT, copy_bank, run_cli, write_tree

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# CI installs Chromium and sets this: there the browser tests may not skip.
REQUIRED = os.environ.get("QBGEN_TEST_BROWSER") == "required"
if CHROMIUM is None and REQUIRED:
    raise RuntimeError("QBGEN_TEST_BROWSER=required, but chromium is not installed")
playwright = pytest.importorskip("playwright.sync_api", reason="playwright not installed")
needs_browser = pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed")

SEEDS = 2
# What must not be left in the text a reader sees once the math is rendered.
RAW_TEX = re.compile(r"\\[A-Za-z]+|\\[()\[\]]|\$|\\\\")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("site") / "site"
    r = run_cli("site", "--seeds", SEEDS, "--out", out)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == str(out / "index.html")
    return out


@pytest.fixture(scope="module")
def listed():
    r = run_cli("list", "--json")
    assert r.returncode == 0, r.stderr
    return {row["id"]: row for row in json.loads(r.stdout)}


@pytest.fixture(scope="module")
def browser():
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM)
        yield b
        b.close()


@pytest.fixture()
def page(browser):
    context = browser.new_context()
    asked: list[str] = []

    def offline(route):
        asked.append(route.request.url)
        route.abort()

    # Anything that is not a file of the site is a network request: refused and recorded.
    context.route(re.compile(r"^(?!file://).*"), offline)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    yield pg
    context.close()
    assert not asked, f"the site asked the network for {asked}"
    assert not errors, errors


def open_page(pg, path):
    pg.goto(path.as_uri())
    pg.wait_for_selector("body[data-math=done]", timeout=20000)


def visible_text(pg) -> str:
    """The page's text as a reader sees it, without the rendered formulas."""
    return pg.evaluate(
        """() => {
            const c = document.body.cloneNode(true);
            c.querySelectorAll('.katex').forEach(e => e.remove());
            document.body.append(c);
            const text = c.innerText;
            c.remove();
            return text;
        }"""
    )


@needs_browser
def test_every_page_renders_its_math_and_figures_offline(site, listed, page):
    pages = sorted((site / "questions").glob("*.html"))
    assert {p.stem for p in pages} == set(listed)
    formulas = 0
    for path in [site / "index.html", *pages]:
        open_page(page, path)
        errors = page.eval_on_selector_all(".katex-error", "els => els.map(e => e.title)")
        assert not errors, f"{path.name}: KaTeX could not render {errors}"
        left = RAW_TEX.findall(visible_text(page))
        assert not left, f"{path.name}: raw TeX in the visible text: {left[:5]}"
        # Every formula pandoc marked is rendered; every picture loaded.
        assert page.locator("span.math").count() == page.locator("span.math .katex").count()
        formulas += page.locator(".katex").count()
        broken = page.eval_on_selector_all(
            "img", "els => els.filter(e => !(e.complete && e.naturalWidth > 0)).map(e => e.src)"
        )
        assert not broken, f"{path.name}: images that did not load: {broken}"
    assert formulas > 500  # the bank is mostly math: a site that rendered none would pass above
    figures = list((site / "figures").glob("*.svg"))
    assert figures and all(f.read_text("utf-8").lstrip().startswith("<?xml") for f in figures)


@needs_browser
def test_index_links_every_question_and_filters_by_topic_and_tag(site, listed, page):
    open_page(page, site / "index.html")
    links = page.eval_on_selector_all("#questions tbody a", "els => els.map(e => e.href)")
    targets = {link.rsplit("/", 1)[1].removesuffix(".html") for link in links}
    assert targets == set(listed) and len(links) == len(listed)
    for link in links:
        assert (site / link.split(site.as_uri() + "/", 1)[1]).is_file()

    rows = page.locator("#questions tbody tr")

    def shown():
        return [rows.nth(i) for i in range(rows.count()) if rows.nth(i).is_visible()]

    topic = "rnn"
    page.select_option("#topic", topic)
    ids = {r.locator("a").inner_text() for r in shown()}
    assert ids == {q for q, row in listed.items() if row["topic"] == topic}
    assert page.inner_text("#count") == f"{len(ids)} of {len(listed)} shown"

    page.select_option("#topic", "")
    tag = "attention"
    page.select_option("#tag", tag)
    ids = {r.locator("a").inner_text() for r in shown()}
    assert ids == {q for q, row in listed.items() if tag in row["tags"]} and ids

    page.select_option("#tag", "")
    page.fill("#search", "paper-b:9")
    assert [r.locator("a").inner_text() for r in shown()] == [
        q for q, row in listed.items() if "paper-b:9" in row["sources"]
    ]


def _show(qid, seed):
    args = ["show", qid, "--json"] + (["--seed", seed] if seed is not None else ["--original"])
    r = run_cli(*args)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


@needs_browser
def test_a_question_page_shows_the_draws_intervals_and_mistakes_qbgen_computes(site, page):
    qid = "momentum-backprop"
    open_page(page, site / "questions" / f"{qid}.html")
    titles = page.eval_on_selector_all("section.draw h2", "els => els.map(e => e.innerText)")
    assert titles == ["The paper as set"] + [f"A new paper, seed {s}" for s in range(SEEDS)]
    for i, seed in enumerate([None, *range(SEEDS)]):
        record = _show(qid, seed)
        section = page.locator("section.draw").nth(i)
        shown = section.locator(".answer.number .interval").all_inner_texts()
        # The intervals, in the order of the question's answers, as the manifest has them.
        expected = [f"[{lo:.6g}, {hi:.6g}]" for lo, hi in record["accept"].values()]
        assert shown == expected
        verdicts = section.locator("table.mistakes tbody tr td:last-child").all_inner_texts()
        declared = sum(len(m) for m in record["mistakes"].values())
        assert len(verdicts) == declared > 0 and set(verdicts) == {"rejected"}
        assert section.locator(".rubric li").count() > 0 and section.locator(".steps .step").count() > 0


@needs_browser
def test_a_table_answer_shows_the_filled_table_and_each_cells_interval(site, page, bank):
    qid = "cnn-table"
    open_page(page, site / "questions" / f"{qid}.html")
    first = page.locator("section.draw").first
    assert first.locator(".answer.cells .model table").count() == 1  # the key's filled table
    record = _show(qid, None)
    spec = next(a for a in bank.get(qid).question.answers if a.kind == "table")
    table = record["answers"][spec.key]
    asked = [
        v
        for row in table[spec.given_rows :]
        for v in row[spec.given_columns :]
        if not isinstance(v, str)  # a text cell is graded by a person
    ]
    values = [float(v) for v in first.locator("table.cells td.value").all_inner_texts()]
    assert values == asked
    for row in first.locator("table.cells tbody tr").all():
        if row.locator("td.interval").count():
            lo, hi = map(float, row.locator("td.interval").inner_text().strip("[]").split(","))
            assert lo <= float(row.locator("td.value").inner_text()) <= hi
    entries = first.locator("table.cells tbody tr td:first-child").all_inner_texts()
    assert any(e.endswith("Activation Map Dimensions") for e in entries), entries
    # The grader's cross-check (an answer not asked) keeps its number: pandoc once dropped
    # a number printed right after the label's \enspace.
    total = record["answers"]["total"]
    remarks = " ".join(first.locator(".remark").all_inner_texts())
    assert f"{total:,}" in remarks, remarks


@needs_browser
def test_choice_options_mark_the_correct_ones_and_parts_keep_their_marks(site, page, bank):
    open_page(page, site / "questions" / "linear-network-boundary.html")
    first = page.locator("section.draw").first
    correct = first.locator("ol.options li.correct .letter").all_inner_texts()
    record = _show("linear-network-boundary", None)
    keyed = [v for v in record["answers"].values() if isinstance(v, list)]
    assert keyed and correct == [f"({chr(ord('A') + i)})" for i in keyed[0]]
    parts = bank.get("linear-network-boundary").question.parts
    heads = [f"({chr(ord('a') + i)}) [{p.marks:g} marks]" for i, p in enumerate(parts)]
    assert first.locator(".unit h3").all_inner_texts() == heads


def test_site_of_two_banks_and_an_id_in_both(tmp_path):
    mine = write_tree(
        tmp_path / "mine",
        {
            "cnn/stride.yaml": r"""
                id: stride
                title: Stride and output size
                topic: cnn
                tags: [conv, my-course]
                kind: text
                marks: 2
                prompt: A $5\times 5$ input, a $3\times 3$ kernel, stride 2. What size is the output?
                answers:
                  - kind: text
                    text: $\lfloor (5-3)/2 \rfloor + 1 = 2$, so $2\times 2$.
                rubric:
                  - marks: 2
                    text: The formula $\lfloor (n-k)/s\rfloor+1$ applied.
            """,
        },
    )
    out = tmp_path / "site"
    r = run_cli("site", "--bank", ROOT / "bank", "--bank", mine, "--seeds", 0, "--out", out)
    assert r.returncode == 0, r.stderr
    page = (out / "questions" / "stride.html").read_text("utf-8")
    assert "mine/cnn/stride.yaml" in page and "Stride and output size" in page
    index = (out / "index.html").read_text("utf-8")
    assert 'href="questions/stride.html"' in index and 'href="questions/vit-patching.html"' in index
    assert "Question bank review: builtin, mine" in index

    copy = copy_bank(tmp_path / "copy", ["kernel-size"])
    again = tmp_path / "again"
    r = run_cli("site", "--bank", ROOT / "bank", "--bank", copy, "--out", again)
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
    assert "kernel-size.yaml" in r.stderr and "'kernel-size' is also used by" in r.stderr
    assert str(ROOT / "bank") in r.stderr and str(copy) in r.stderr
    assert not again.exists() or not any(again.iterdir())


def test_a_failing_generator_leaves_the_previous_site(tmp_path):
    bank = copy_bank(tmp_path / "bank", ["rnn-layer-params", "kernel-size"])
    out = tmp_path / "site"
    r = run_cli("site", "--bank", bank, "--seeds", 1, "--out", out)
    assert r.returncode == 0, r.stderr
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    gen = next(bank.rglob("rnn_layer_params.py"))
    text = gen.read_text("utf-8")
    broken = re.sub(
        r"(def solve\(.*\n)", r"\1    raise ZeroDivisionError('broken on purpose')\n", text, count=1
    )
    assert broken != text
    gen.write_text(broken, "utf-8")
    r = run_cli("site", "--bank", bank, "--seeds", 1, "--out", out)
    assert r.returncode != 0 and r.stderr.startswith("error: ") and r.stderr.count("\n") == 1, r.stderr
    assert "rnn-layer-params" in r.stderr
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


def test_a_rebuilt_site_drops_the_pages_of_questions_gone_and_keeps_the_users_files(tmp_path):
    bank = copy_bank(tmp_path / "bank", ["rnn-layer-params", "kernel-size"])
    out = tmp_path / "site"
    assert run_cli("site", "--bank", bank, "--seeds", 0, "--out", out).returncode == 0
    (out / "review-notes.txt").write_text("mine")
    assert (out / "questions" / "kernel-size.html").is_file()
    next(bank.rglob("kernel-size.yaml")).unlink()
    r = run_cli("site", "--bank", bank, "--seeds", 0, "--out", out)
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in (out / "questions").iterdir()) == ["rnn-layer-params.html"]
    assert (out / "review-notes.txt").read_text() == "mine"
    assert "kernel-size" not in (out / "index.html").read_text("utf-8")
