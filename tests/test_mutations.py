"""Random mutations of valid bank and spec files: a clean error or a clean load, never a crash."""

import shutil

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qbgen.assemble import instantiate
from qbgen.bank import load_bank
from qbgen.errors import QbgenError
from qbgen.spec import load_spec

from .conftest import BANK, run_cli

SOURCES = [
    BANK / "rnn" / "lstm-vs-rnn-params.yaml",
    BANK / "cnn" / "cnn-table.yaml",
    BANK / "fcnn" / "softmax-temperature.yaml",
    BANK / "generative" / "kl-symmetry.yaml",
]
JUNK = st.sampled_from(
    ["", ":", "- ", "{", "]", "  ", "\t", "0", "-1", "null", "[]", "{}", "x: y", "\\VAR{", "'"]
)


@st.composite
def mutated(draw):
    src = draw(st.sampled_from(SOURCES))
    lines = src.read_text().splitlines()
    for _ in range(draw(st.integers(1, 3))):
        i = draw(st.integers(0, len(lines) - 1))
        op = draw(st.sampled_from(["delete", "duplicate", "insert", "truncate", "replace_value"]))
        if op == "delete":
            del lines[i]
        elif op == "duplicate":
            lines.insert(i, lines[i])
        elif op == "insert":
            lines.insert(i, draw(JUNK))
        elif op == "truncate":
            lines[i] = lines[i][: draw(st.integers(0, len(lines[i])))]
        elif ":" in lines[i]:
            key = lines[i].split(":", 1)[0]
            lines[i] = f"{key}: {draw(JUNK)}"
        if not lines:
            lines = [""]
    return src, "\n".join(lines) + "\n"


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(mutated())
def test_mutated_question_file_loads_or_fails_cleanly(tmp_path_factory, case):
    src, text = case
    root = tmp_path_factory.mktemp("bank")
    target = root / src.parent.name / src.name
    target.parent.mkdir(parents=True)
    target.write_text(text)
    for gen in src.parent.glob("*.py"):
        shutil.copy(gen, target.parent / gen.name)
    try:
        bank = load_bank(root)
    except QbgenError as exc:
        msg = str(exc)
        assert "\n" not in msg and str(target) in msg
        return
    # It loaded: using it fails cleanly too (a mutated prompt may name an unknown param).
    (root / "exams").mkdir()
    for bq in bank.questions.values():
        try:
            instantiate(bq, "1", 1)
        except QbgenError as exc:
            assert "\n" not in str(exc)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.sampled_from(["delete", "junk"]), min_size=1, max_size=3), st.data())
def test_mutated_spec_fails_cleanly(tmp_path_factory, ops, data):
    bank = load_bank(BANK)
    lines = (BANK / "exams" / "paper-a.yaml").read_text().splitlines()
    for op in ops:
        i = data.draw(st.integers(0, len(lines) - 1))
        if op == "delete":
            del lines[i]
        else:
            lines[i] = data.draw(JUNK) + lines[i]
    path = tmp_path_factory.mktemp("spec") / "paper-a.yaml"
    path.write_text("\n".join(lines) + "\n")
    try:
        load_spec(path, bank)
    except QbgenError as exc:
        assert "\n" not in str(exc) and str(path) in str(exc)


def test_mutated_file_through_the_cli_is_one_line(tmp_path):
    root = tmp_path / "bank"
    (root / "rnn").mkdir(parents=True)
    text = SOURCES[0].read_text().replace("\ntitle:", "\nmarks: [\ntitle:", 1)
    (root / "rnn" / "lstm-vs-rnn-params.yaml").write_text(text)
    r = run_cli("list", "--bank", root)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr
