"""Variants, rosters, pools and shuffles, through the real CLI and pdflatex."""

import json
import re
import subprocess

import pytest

from .conftest import BANK, needs_tex, pdf_text, run_cli

pytestmark = needs_tex
HOSTILE = "Tom & Jerry_100% $#{}~^\\"


def pages(pdf):
    out = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    return int(re.search(r"Pages:\s+(\d+)", out).group(1))


def page_texts(pdf):
    return pdf_text(pdf).split("\f")


@pytest.fixture(scope="module")
def twenty(tmp_path_factory):
    out = tmp_path_factory.mktemp("v20")
    r = run_cli("build", "bank/exams/paper-b.yaml", "--variants", "20", "--out", out)
    assert r.returncode == 0, r.stderr
    assert "20 papers with keys" in r.stderr
    return out


def test_twenty_folders_of_distinct_papers(twenty):
    top = json.loads((twenty / "manifest.json").read_text())
    labels = [p["folder"] for p in top["papers"]]
    assert labels == [chr(65 + i) for i in range(20)]
    seen = set()
    for label in labels:
        folder = twenty / label
        for name in ("exam.pdf", "key.pdf", "exam.tex", "key.tex", "manifest.json"):
            assert (folder / name).stat().st_size > 0, (label, name)
        m = json.loads((folder / "manifest.json").read_text())
        assert m["variant"] == label
        seen.add(json.dumps([q["params"] for q in m["questions"]], sort_keys=True))
    assert len(seen) == 20, "every set has its own numbers"


def test_each_page_names_its_set_and_keys_match(twenty):
    for label in ("A", "K", "T"):
        exam = page_texts(twenty / label / "exam.pdf")
        key = page_texts(twenty / label / "key.pdf")
        assert all(f"Set {label}" in p for p in exam if p.strip())
        assert all(f"Answer Key -- Set {label}" in p or "Answer Key – Set" in p for p in key if p.strip())
        # The key reuses the paper's figures (typeset once): their labels are there too.
        joined_exam, joined_key = " ".join(exam), " ".join(key)
        for mark in ("w1 = ", "w5 = ", "class 2"):
            assert joined_key.count(mark) >= joined_exam.count(mark) >= 1, (label, mark)
        m = json.loads((twenty / label / "manifest.json").read_text())
        vit = next(q for q in m["questions"] if q["id"] == "vit-attention-weights")
        total = f"{vit['answers']['total']:,}"
        assert total in " ".join(key) and total not in " ".join(exam)


def test_combined_files_start_each_paper_on_an_odd_page(twenty):
    for combined, single in (("exams.pdf", "exam.pdf"), ("keys.pdf", "key.pdf")):
        texts = page_texts(twenty / combined)
        firsts = [i + 1 for i, t in enumerate(texts) if "Indian Institute of Technology Jammu" in t]
        assert len(firsts) == 20
        assert all(p % 2 == 1 for p in firsts), firsts
        lengths = [pages(twenty / chr(65 + i) / single) for i in range(20)]
        assert pages(twenty / combined) == sum(n + n % 2 for n in lengths[:-1]) + lengths[-1]


ROSTER = f'id,name,email\n2024CS001,Asha Verma,a@x\n2024CS002,"{HOSTILE}",t@x\n2024CS003,Ravi K,r@x\n'


def test_roster_papers_name_each_student_and_rebuild_identically(tmp_path):
    roster = tmp_path / "class.csv"
    roster.write_text(ROSTER)
    env = {"SOURCE_DATE_EPOCH": "1700000000"}
    one, two = tmp_path / "one", tmp_path / "two"
    for out in (one, two):
        r = run_cli("build", "bank/exams/quiz.yaml", "--roster", roster, "--out", out, env=env)
        assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in one.iterdir() if p.is_dir()) == ["2024CS001", "2024CS002", "2024CS003"]
    exam = " ".join(pdf_text(one / "2024CS002" / "exam.pdf").split())
    assert f"Name: {HOSTILE} Roll No.: 2024CS002" in exam
    assert f"{HOSTILE} (2024CS002)" in exam  # the running header
    for f in sorted(one.rglob("*")):
        if f.is_file():
            assert f.read_bytes() == (two / f.relative_to(one)).read_bytes(), f
    # A student's paper depends on the student's id only: a new roster order keeps it.
    roster.write_text("name,id\nRavi K,2024CS003\nNew Student,2024CS009\nAsha Verma,2024CS001\n")
    three = tmp_path / "three"
    r = run_cli("build", "bank/exams/quiz.yaml", "--roster", roster, "--out", three, env=env)
    assert r.returncode == 0, r.stderr
    for sid in ("2024CS001", "2024CS003"):
        assert (three / sid / "exam.tex").read_bytes() == (one / sid / "exam.tex").read_bytes()


def test_one_student_from_a_semicolon_spreadsheet_export(tmp_path):
    # Excel in a decimal-comma locale: BOM, ';' separators, capitalised headers, CRLF.
    roster = tmp_path / "class.csv"
    roster.write_bytes("\ufeffRoll;ID;Name\r\n1;2024CS007;Zoë D'Souza\r\n".encode())
    r = run_cli("build", "quiz", "--roster", roster, "--out", tmp_path / "o")
    assert r.returncode == 0, r.stderr
    exam = " ".join(pdf_text(tmp_path / "o" / "2024CS007" / "exam.pdf").split())
    assert "Name: Zoë D'Souza Roll No.: 2024CS007" in exam  # a straight quote, as typed
    assert pages(tmp_path / "o" / "exams.pdf") == pages(tmp_path / "o" / "2024CS007" / "exam.pdf")
    # One set is still a set: its folder, its label, the combined files.
    r = run_cli("build", "quiz", "--variants", "1", "--out", tmp_path / "v")
    assert r.returncode == 0, r.stderr
    assert "Set A" in pdf_text(tmp_path / "v" / "A" / "exam.pdf")
    assert (tmp_path / "v" / "keys.pdf").exists()


def test_pools_draw_per_variant_and_marks_add_up(tmp_path):
    r = run_cli("build", "quiz", "--variants", "4", "--out", tmp_path)
    assert r.returncode == 0, r.stderr
    picks = []
    for label in "ABCD":
        m = json.loads((tmp_path / label / "manifest.json").read_text())
        assert sum(q["marks"] for q in m["questions"]) == 20
        ids = [q["id"] for q in m["questions"]]
        assert len(ids) == len(set(ids))
        picks.append(ids)
        key = pdf_text(tmp_path / label / "key.pdf")
        numbers = [int(n) for n in re.findall(r"^(\d+)\. ", key, re.M)]
        assert numbers == list(range(1, len(ids) + 1))  # the key follows the drawn order
    assert len({tuple(p) for p in picks}) == 4
    assert len({frozenset(p) for p in picks}) > 1, "pools draw different questions"


def test_rebuilding_fewer_papers_leaves_no_stale_ones(tmp_path):
    out = tmp_path / "quiz"
    r = run_cli("build", "quiz", "--variants", "4", "--out", out)
    assert r.returncode == 0, r.stderr
    (out / "D" / "notes.txt").write_text("the instructor's own file")
    (out / "seating.csv").write_text("kept too")
    r = run_cli("build", "quiz", "--variants", "2", "--out", out)
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == ["A", "B", "D"]
    assert [p.name for p in (out / "D").iterdir()] == ["notes.txt"]  # qbgen's files gone, hers kept
    assert not (out / "C").exists()
    a, b = pages(out / "A" / "exam.pdf"), pages(out / "B" / "exam.pdf")
    assert pages(out / "exams.pdf") == a + a % 2 + b  # two papers, not four
    # One paper into the same folder: the sets and the combined files go, one pair stays.
    r = run_cli("build", "quiz", "--out", out)
    assert r.returncode == 0, r.stderr
    # A preview into the same folder only adds its own files.
    r = run_cli("preview", "paper-b:7", "--out", out)
    assert r.returncode == 0, r.stderr
    files = [p for p in out.rglob("*") if p.is_file() and p.stem != "lstm-vs-rnn-params"]
    left = sorted(str(p.relative_to(out)) for p in files)
    assert left == [
        ".qbgen-files",  # what qbgen wrote here: only these it replaces (publish.RECORD)
        ".qbgen-lock",  # the lock a build holds while it writes (publish.LOCK)
        "D/notes.txt",
        "exam.pdf",
        "exam.tex",
        "key.pdf",
        "key.tex",
        "manifest.json",
        "marks.csv",
        "responses.csv",
        "seating.csv",
    ]


def test_a_pool_draws_the_same_questions_wherever_it_stands(tmp_path, bank):
    # A fixed question added before the pools (one no pool could draw) changes no pick.
    from qbgen.plan import plan
    from qbgen.spec import load_spec

    spec = BANK / "exams" / "quiz.yaml"
    text = spec.read_text("utf-8")
    moved = tmp_path / "quiz.yaml"
    extra = bank.get("paper-a:3d")  # a transformer table: no pool of the quiz takes it
    moved.write_text(
        text.replace("max_marks: 20", f"max_marks: {20 + extra.question.marks:g}").replace(
            "    questions:\n      - pool: {topic: fcnn",
            f"    questions:\n      - {extra.id}\n      - pool: {{topic: fcnn",
            1,
        ),
        "utf-8",
    )
    assert moved.read_text("utf-8") != text

    def picks(path):
        papers = plan(load_spec(path, bank), bank, variants=6).papers
        return [
            [sorted(q.id for q in s.questions if q.id != extra.id) for s in p.exam.sections] for p in papers
        ]

    before, after = picks(spec), picks(moved)
    assert before == after
    assert len({str(p) for p in before}) > 1  # the sets do draw differently
