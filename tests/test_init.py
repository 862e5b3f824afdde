"""`qbgen init` (issue 26, item 1): a bank another institute starts with one command,
which validates and builds as it is, in a house style made from its header."""

from __future__ import annotations

from .conftest import cli, needs_tex, pdf_text

LONG = (
    "Northfield Institute of Technology and Applied Sciences, Department of Computer Science and Engineering"
)


def _init(folder):
    return cli(
        "init", folder, "--institute", LONG, "--code", "CS 4410", "--course", "Deep Learning",
        "--exam", "Midterm", "--duration", "2 hours", "--instruction", "Answer all questions.",
    )  # fmt: skip


@needs_tex
def test_a_bank_made_by_init_validates_and_builds_with_nothing_added(tmp_path):
    bank = tmp_path / "cs4410"
    r = _init(bank)
    assert r.returncode == 0, r.stderr
    for rel in (
        "bank.yaml",
        "_lib/__init__.py",
        ".gitignore",
        ".github/workflows/qbgen.yml",
        "exams/midterm.yaml",
    ):
        assert (bank / rel).is_file(), rel
    kinds = sorted(p.stem for p in (bank / "samples").glob("*.yaml"))
    assert kinds == ["sample-choice", "sample-code", "sample-numeric", "sample-table", "sample-text"]
    r = cli("validate", "--bank", bank)
    assert r.returncode == 0, r.stdout + r.stderr
    out = tmp_path / "out"
    r = cli("build", "--bank", bank, "--out", out)
    assert r.returncode == 0, r.stderr
    assert "past the margin" not in r.stderr  # the long institute wraps, within the margins
    exam = " ".join(pdf_text(out / "exam.pdf").split())
    key = " ".join(pdf_text(out / "key.pdf").split())
    assert (
        "Northfield Institute of Technology" in exam and "CS 4410 Deep Learning" in exam and "Midterm" in exam
    )
    assert "Time: 2 hours" in exam and "Answer all questions." in exam
    assert "Name:" in exam and "Roll No.:" in exam  # a box to write in, on the paper
    assert "Name:" not in key and "Roll No.:" not in key  # not on the key
    # A roster's paper prints the student: no empty box beside the printed name.
    roster = tmp_path / "class.csv"
    roster.write_text("id,name\n21CS01,Asha Rao\n", "utf-8")
    r = cli("build", "--bank", bank, "--roster", roster, "--out", tmp_path / "r")
    assert r.returncode == 0, r.stderr
    paper = " ".join(pdf_text(tmp_path / "r" / "21CS01" / "exam.pdf").split())
    assert "Name: Asha Rao" in paper and paper.count("Name:") == 1


def test_init_into_a_folder_with_files_refuses_and_writes_nothing(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("mine")
    r = _init(tmp_path / "mine")
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "not an empty folder" in r.stderr
    assert sorted(p.name for p in (tmp_path / "mine").iterdir()) == ["notes.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine"]  # no half-made bank beside it
    assert _init(tmp_path / "new").returncode == 0
    r = _init(tmp_path / "new")  # a second init into what the first made
    assert r.returncode == 2 and "not an empty folder" in r.stderr
