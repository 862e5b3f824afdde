"""Statistics by identity (issue 22, item 5), tried as a new user would: a bank style with
titled sections, a 3-set quiz drawn from pools and a 30-student roster.

Every label printed on every paper (read back from the PDF) is a column of marks.csv
and a row of items.csv; no pooled row mixes two bank questions; facility is mean / max;
the fairness view's Kruskal-Wallis H is recomputed here from ranks.
"""

from __future__ import annotations

import csv
import json
import math
import random
import re

import pytest
from scipy.stats import chi2

from .conftest import BANK, cli, needs_tex, write_tree
from .test_identity import TITLED_STYLE, printed_labels


def _quiz_bank(root):
    quiz = (BANK / "exams" / "quiz.yaml").read_text("utf-8")
    quiz = re.sub(r"(?m)^style: .*$", "style: titled", quiz)
    return write_tree(root / "mine", {"templates/titled/paper.tex.j2": TITLED_STYLE, "exams/quiz.yaml": quiz})


def _read(path):
    with path.open(encoding="utf-8") as f:
        return list(csv.reader(f))


def _papers(out):
    top = json.loads((out / "manifest.json").read_text("utf-8"))
    return {p["folder"]: p for p in top["papers"]}


def _identity(q):
    names = list(q["items"])
    if len(names) == 1 and names[0] == q["number"]:
        return {names[0]: q["id"]}
    return {n: f"{q['id']} ({'abcdefgh'[i]})" for i, n in enumerate(names)}


def _fill(out, papers, by_set, seed):
    # Random marks in the spec's halves, within each item's maximum, some left blank.
    rng = random.Random(seed)
    rows = _read(out / "marks.csv")
    header = rows[0]
    body = [r for r in rows[1:] if r[0] != "Points Possible"]
    if by_set:  # a variants build lists no students: ten per set
        body = [
            [f"s{c}{i}", f"Student {c}{i}", c] + [""] * (len(header) - 3) for c in papers for i in range(10)
        ]
    filled = []
    for row in body:
        paper = papers[row[2] if by_set else row[0]]
        items = {k: v for q in paper["questions"] for k, v in q["items"].items()}
        cells = row[: 3 if by_set else 2]
        for column in header[len(cells) :]:
            if column in items and rng.random() > 0.1:
                cells.append(f"{rng.randrange(int(2 * items[column]) + 1) / 2:g}")
            else:
                cells.append("")
        filled.append(cells)
    with (out / "marks.csv").open("w", encoding="utf-8", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows([header, *filled])
    return header, filled


def _h(groups):
    # Kruskal-Wallis H with the ties correction, from the ranks (average ranks for ties).
    values = sorted(v for g in groups for v in g)
    n = len(values)
    rank = {}
    i = 0
    while i < n:
        j = i
        while j < n and values[j] == values[i]:
            j += 1
        rank[values[i]] = (i + j + 1) / 2
        i = j
    h = 12 / (n * (n + 1)) * sum(sum(rank[v] for v in g) ** 2 / len(g) for g in groups) - 3 * (n + 1)
    ties = sum(values.count(v) ** 3 - values.count(v) for v in set(values))
    return h / (1 - ties / (n**3 - n))


@pytest.fixture(scope="module")
def mine(tmp_path_factory):
    return _quiz_bank(tmp_path_factory.mktemp("stats"))


@needs_tex
@pytest.mark.parametrize("how", ["variants", "roster"])
def test_every_printed_label_is_a_column_and_a_row_and_no_row_mixes_questions(mine, tmp_path, how):
    out = tmp_path / "out"
    if how == "variants":
        extra = ["--variants", "3"]
    else:
        roster = tmp_path / "class.csv"
        roster.write_text("id,name\n" + "".join(f"s{i:02},Student {i}\n" for i in range(30)), "utf-8")
        extra = ["--roster", roster]
    r = cli("build", mine / "exams" / "quiz.yaml", "--bank", mine, "--bank", "builtin", "--out", out, *extra)
    assert r.returncode == 0, r.stderr
    papers = _papers(out)
    header, filled = _fill(out, papers, how == "variants", seed=len(how))
    r = cli("grade", out)
    assert r.returncode == 0, r.stderr
    table = _read(out / "items.csv")
    rows = [dict(zip(table[0], row, strict=True)) for row in table[1:]]
    by_label = {(r["set"], r["item"]): r for r in rows if r["set"] != "(pooled)"}
    pooled = [r for r in rows if r["set"] == "(pooled)"]
    questions_at: dict[str, set[str]] = {}
    for folder, paper in papers.items():
        identity = {k: v for q in paper["questions"] for k, v in _identity(q).items()}
        labels = printed_labels(out / folder / "exam.pdf", "titled")
        assert labels == list(identity)  # the paper prints its items' names
        for label in labels:
            assert label in header  # a column of marks.csv
            questions_at.setdefault(label, set()).add(identity[label])
    for folder, paper in papers.items():
        group = folder if how == "variants" else ""
        for q in paper["questions"]:
            for label, question in _identity(q).items():
                row = by_label.get((group, label))
                if how == "roster" and len(questions_at[label]) > 1:
                    # a pool put different questions here: no row of the column, a row per question
                    assert row is None
                    row = next(p for p in pooled if p["question"] == question)
                    assert label in row["item"].split("/")
                assert row is not None and row["question"] == question, (folder, label)
    # A pooled row is one bank question: every student it counts had that very question.
    for p in pooled:
        who = [
            (s, label)
            for s in filled
            for label, question in _student_identity(papers, s, how).items()
            if question == p["question"]
        ]
        assert int(p["n"]) == len(who) > 0
        marks = [float(s[header.index(label)] or 0) for s, label in who]
        assert math.isclose(float(p["facility"]), sum(marks) / len(marks) / float(p["max"]), rel_tol=1e-3)

    fairness = _read(out / "fairness.csv")
    fair = [dict(zip(fairness[0], row, strict=True)) for row in fairness[1:]]
    if how == "variants":
        # The sets' totals as fractions of each paper's maximum, compared by ranks.
        groups = []
        for code, paper in papers.items():
            most = sum(v for q in paper["questions"] for v in q["items"].values())
            groups.append([sum(float(c or 0) for c in s[3:]) / most for s in filled if s[2] == code])
        test = next(r for r in fair if r["question"] == "(test)")
        h = _h(groups)
        assert math.isclose(float(test["kruskal_h"]), h, rel_tol=1e-3)
        assert math.isclose(float(test["p"]), chi2.sf(h, len(groups) - 1), rel_tol=1e-3, abs_tol=1e-4)
    else:
        pools = [r for r in fair if r["compared"] == "questions"]
        assert pools and all(int(r["groups"]) >= 2 for r in pools)


def _student_identity(papers, row, how):
    paper = papers[row[2] if how == "variants" else row[0]]
    return {k: v for q in paper["questions"] for k, v in _identity(q).items()}


@needs_tex
def test_points_possible_is_each_sets_own(mine, tmp_path):
    out = tmp_path / "out"
    r = cli("build", mine / "exams" / "quiz.yaml", "--bank", mine, "--bank", "builtin", "--variants", "3",
            "--out", out)  # fmt: skip
    assert r.returncode == 0, r.stderr
    rows = _read(out / "marks.csv")
    header, possible = rows[0], {r[2]: r for r in rows[1:] if r[0] == "Points Possible"}
    assert sorted(possible) == ["A", "B", "C"]
    for code, paper in _papers(out).items():
        items = {k: v for q in paper["questions"] for k, v in q["items"].items()}
        for i, column in enumerate(header[3:], 3):
            assert possible[code][i] == (f"{items[column]:g}" if column in items else "")
