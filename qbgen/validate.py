"""Stage 6b: validate a bank: every question instantiates, every answer is checked.

Room: running every generator for many seeds and reporting per question. Imports
errors, models, kinds, authoring, bank, assemble, numbers. For each question: the pinned original
values and N seeds each draw, solve, pass `check` and render, and every numeric
answer's accepted interval holds the value rounded honestly and none of the declared
mistakes (the generator's `mistakes`), and every number the worked steps print is a
parameter, an answer or a value `check` re-derived, an answer printed as its answer
line prints it (`numbers`); then, on one draw, each
numeric answer is nudged in turn and `check` must notice (a check that cannot fail
is reported). Draws that hardly vary and choice keys stuck in one place are warned of.
Every text field is converted as the HTML outputs convert it (`html.refusals`, one
sandboxed pandoc run): one that reads a file or links or loads what they refuse fails.
With `compile_questions`, every question is typeset once, all in one document, and
those LaTeX rejects are named. `write_junit` reports for CI.
"""

from __future__ import annotations

import copy
import json
import math
import os
import tempfile
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import authoring
from .assemble import instantiate
from .bank import Bank, BankFolder, BankQuestion, Generator, load_bank, text_error, text_fields
from .errors import EnvironmentProblem, InputError, QbgenError, TypesetError
from .frozen import thaw
from .html import Refusal, refusals
from .kinds import KINDS
from .kinds.base import Loc
from .models import Exam, Package, QuestionInstance, SectionInstance, in_view
from .numbers import numbers_of, printed_numbers
from .render import preamble, render
from .seeds import rng_for
from .spec import load_spec
from .typeset import ensure_format, overfull_lines, typeset

DEFAULT_FIGURES = 4  # what fmt prints without a count: the key's rule for worked steps


@dataclass
class QuestionReport:
    """The outcome of validating one question."""

    id: str
    path: str
    seeds: int = 0
    failures: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    failing_seed: int | None = None

    @property
    def ok(self) -> bool:
        """Whether the question passed."""
        return not self.failures


def _leaves(value: Any, path: tuple = ()) -> Iterator[tuple[tuple, Any]]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _leaves(v, path + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _leaves(v, path + (i,))
    elif isinstance(value, int | float | str) and not isinstance(value, bool):
        yield path, value


def _nudged(answers: dict[str, Any], path: tuple) -> dict[str, Any]:
    out = copy.deepcopy(answers)
    target = out
    for k in path[:-1]:
        target = target[k]
    v = target[path[-1]]
    if isinstance(v, str):
        target[path[-1]] = v + " 1"  # a table cell's text, a computed label, code
    else:
        target[path[-1]] = v + 1 if isinstance(v, int) else v * 1.01 + 0.01
    return out


def _label(path: tuple) -> str:
    return str(path[0]) + "".join(f"[{k}]" for k in path[1:])


def check_bites(bq: BankQuestion, seed: int) -> list[str]:
    """Return the answers (numbers, texts, table cells) whose change `check` does not notice."""
    gen = bq.generator
    assert gen is not None
    with gen.imports():
        return _check_bites(gen, seed)


def _check_bites(gen: Generator, seed: int) -> list[str]:
    params = gen.Params.model_validate(authoring.plain(gen.sample(rng_for(seed)).model_dump()))
    sol = gen.solve(params)
    missed = []
    seen_keys: set[str] = set()
    for path, _ in _leaves(sol.answers):
        # One nudge per scalar answer, and for a table the first few cells of each.
        label = _label(path)
        if label in seen_keys:
            continue
        seen_keys.add(label)
        wrong = sol.model_copy(update={"answers": _nudged(sol.answers, path)})
        try:
            gen.check(params, wrong)
        except authoring.CheckFailed:
            continue
        except Exception:  # noqa: BLE001 - a check that crashes on a wrong answer still notices it
            continue
        missed.append(label)
    return missed


def step_problems(inst: QuestionInstance) -> list[str]:
    """What the worked steps print that nothing accounts for, or print two ways.

    Every number a step prints is a parameter, an answer, or a value `check`
    re-derived (to the figures printed), and a step that prints a numeric answer
    prints it as the answer line does.
    """
    given = list(numbers_of(thaw(inst.params))) + list(numbers_of(thaw(inst.derived)))
    vouched = given + list(numbers_of(thaw(inst.answers)))
    # One rule for the figures: a rounded number prints as many as the answers do.
    rule = {DEFAULT_FIGURES}.union(*(KINDS[a.kind].figures(a) for a in inst.all_answers()))
    answer_lines = {
        key: next(printed_numbers(line))
        for a in inst.all_answers()
        for key, line in KINDS[a.kind].printed(a).items()
    }
    loose: list[str] = []
    figures: list[str] = []
    twice: dict[str, list[str]] = {key: [] for key in answer_lines}  # by answer, as reported
    for i, step in enumerate(inst.all_steps(), 1):  # each step's numbers are read once
        for num in printed_numbers(step):
            if not num.accounted(vouched):
                loose.append(
                    f"worked step {i} prints {num.text}, which is no parameter, answer or value "
                    "check re-derived"
                )
            exact = num.integer or any(math.isclose(num.value, v, rel_tol=1e-12) for v in vouched)
            if num.from_fmt and not exact and num.figures not in rule:
                allowed = " or ".join(str(n) for n in sorted(rule))
                figures.append(
                    f"worked step {i} prints {num.text} to {num.figures} significant figures, "
                    f"where the key's rule is {allowed}"
                )
            if not num.from_fmt or any(num.shows(v) for v in given):
                continue
            reads_as = [key for key in answer_lines if num.shows(inst.answers[key])]
            if any(num.text == answer_lines[key].text for key in reads_as):
                continue  # an answer printed as its line prints it; another may equal it by chance
            if len(reads_as) > 1:  # answers equal by chance: the step's number is one of them
                lines = " and ".join(
                    f"answer {key} (its answer line: {answer_lines[key].text})" for key in reads_as
                )
                twice[reads_as[0]].append(
                    f"worked step {i} prints {num.text}, which reads as {lines}, equal here by "
                    "chance; print it as the answer line of the one it is"
                )
            elif reads_as:
                key = reads_as[0]
                twice[key].append(
                    f"worked step {i} prints answer {key} as {num.text}, its answer line as "
                    f"{answer_lines[key].text} (if this {num.text} is another value, equal to {key} by "
                    "chance, have check return it: then it is vouched for as that value)"
                )
    return loose + figures + [line for lines in twice.values() for line in lines]


def _fingerprint(inst: QuestionInstance) -> str:
    return json.dumps([thaw(inst.params), thaw(inst.answers)], sort_keys=True, default=str)


def validate_question(bq: BankQuestion, seeds: int) -> QuestionReport:
    """Validate one question over `seeds` draws (and its original values)."""
    report = QuestionReport(bq.id, str(bq.path))
    # A question draws too if an answer asks to (choice options), even without a generator.
    drawn = bq.generator is not None or any(KINDS[a.kind].drawn(a) for a in bq.question.all_answers())
    runs: list[int | None] = [None] + list(range(seeds)) if drawn else [None]
    distinct: set[str] = set()
    first_runs: dict[int, str] = {}  # seed -> its paper's params and answers, to draw again
    positions: Counter[int] = Counter()
    for seed in runs:
        try:
            # A question given in several languages: each proved to print what the bank's
            # language prints, for every draw (`prove_same`).
            languages = bq.languages() if bq.translations else ()
            inst = instantiate(bq, "1", seed, shuffle_options=seed is not None, languages=languages)
        except QbgenError as exc:
            report.failures.append(str(exc))
            report.failing_seed = seed
            break
        report.seeds += seed is not None and bq.generator is not None
        # Every accepted interval holds honest rounding and excludes each declared mistake;
        # every number the steps print is accounted for.
        problems = [p for a in inst.all_answers() for p in KINDS[a.kind].problems(a)] or step_problems(inst)
        if problems:
            drawn_from = "original values" if seed is None else f"seed {seed}"
            report.failures.append(f"{bq.id} ({drawn_from}): {problems[0]}")
            report.failures.extend(problems[1:4])
            report.failing_seed = seed
            break
        if seed is not None:
            distinct.add(json.dumps(thaw(inst.params), sort_keys=True))
        if seed in (0, 1) and bq.generator is not None:
            first_runs[seed] = _fingerprint(inst)
        for a in inst.all_answers():
            where = KINDS[a.kind].key_positions(a)
            if len(where) == 1 and seed is not None:
                positions[where[0]] += 1
    # A draw must come from its seed alone: drawn again, it is the same paper (numpy's
    # global random state, the clock or a set's order would make rebuilt keys differ).
    for seed, first in first_runs.items():
        if report.ok and _fingerprint(instantiate(bq, "1", seed, shuffle_options=True)) != first:
            report.failures.append(
                f"{bq.id} (seed {seed}): drawn twice, it gave different params or answers; a "
                "generator draws only from the rng it is given (not numpy's global random state, "
                "the time or a set's order)"
            )
            report.failing_seed = seed
    if report.ok and bq.generator is not None and seeds:
        try:
            missed = check_bites(bq, 0)
        except Exception as exc:  # noqa: BLE001 - reported, not raised: validate runs on
            missed = []
            report.failures.append(f"re-running seed 0 failed: {type(exc).__name__}: {exc}")
        if missed:
            report.failures.append(
                f"{bq.id}: check does not notice a wrong value of: {', '.join(missed[:8])}"
                + (f" (+{len(missed) - 8} more)" if len(missed) > 8 else "")
            )
            report.failing_seed = 0
    if bq.generator is not None and seeds >= 100 and len(distinct) < 5:
        report.warnings.append(f"draws hardly vary: {len(distinct)} distinct params in {seeds} seeds")
    if positions and seeds >= 20:
        pos, n = positions.most_common(1)[0]
        if n > 0.5 * sum(positions.values()):
            report.warnings.append(
                f"the correct option is ({chr(65 + pos)}) in {n} of {sum(positions.values())} draws"
                + ("; set shuffle: true on the choice" if len(positions) == 1 else "")
            )
    return report


def validate(bank: Bank, seeds: int = 100, only: list[str] | None = None) -> list[QuestionReport]:
    """Validate every question of `bank` (or those in `only`)."""
    chosen = [bank.get(ref) for ref in only] if only else list(bank.questions.values())
    reports = [validate_question(bq, seeds) for bq in chosen]
    _html_refusals(chosen, reports)
    return reports


def _texts(bq: BankQuestion) -> list[tuple[Loc, str]]:
    # Every text the HTML outputs convert, as written: the fields and the review notes.
    q = bq.question
    return list(text_fields(q)) + ([(("notes",), q.notes)] if q.notes else [])


def _html_refusals(chosen: list[BankQuestion], reports: list[QuestionReport]) -> None:
    # What the LMS exports and the site would refuse (a file read, a `javascript:` link, a
    # picture from the network), in its file, line and field: the text as written, so the
    # line is the file's. One pandoc run for all; if pandoc cannot read that, one per
    # question, then per field.
    texts = [_texts(bq) for bq in chosen]
    try:
        found = _refused(texts)
    except EnvironmentProblem:  # no pandoc, or none with --sandbox: no HTML outputs here
        return
    except QbgenError:
        found = []
        for i, fields in enumerate(texts):
            try:
                found += [(i, loc, source, r) for _, loc, source, r in _refused([fields])]
            except InputError as exc:  # past pandoc's time or memory limit: the exports stop too
                reports[i].failures.append(f"{chosen[i].path}: its text does not convert to HTML: {exc}")
            except QbgenError:
                for loc, source in fields:
                    try:
                        found += [(i, loc, source, r) for _, loc, source, r in _refused([[(loc, source)]])]
                    except QbgenError as exc:  # a template, before Jinja, need not be LaTeX pandoc reads
                        why = f"pandoc cannot read it as written: {exc}"
                        reports[i].warnings.append(str(text_error(chosen[i].doc, loc, source, 1, why)))
    for i, loc, source, r in found:
        reports[i].failures.append(str(text_error(chosen[i].doc, loc, source, r.line, r.message)))


def _refused(texts: list[list[tuple[Loc, str]]]) -> list[tuple[int, Loc, str, Refusal]]:
    # The refusals in some questions' texts (one pandoc run): question index, field, text.
    flat = [(i, loc, source) for i, fields in enumerate(texts) for loc, source in fields]
    return [(*flat[r.fragment], r) for r in refusals([source for _, _, source in flat])]


def validate_folder(
    roots: Path | Sequence[Path],
    seeds: int = 100,
    only: list[str] | None = None,
    within: str | None = None,
) -> tuple[Bank, list[QuestionReport]]:
    """Validate the bank(s) in `roots`, reporting everything: no broken file stops the run.

    A file that does not load is a failing report of its own, and every other question
    is still validated; without `only`, each exam spec of the bank is loaded too and
    must resolve (its questions exist, its pools can be filled, its marks add up).
    `within` names one of the banks (its folder's name, its bank.yaml name, or
    `builtin`): only its questions and specs are validated, against all the banks.
    """
    broken: list[tuple[Path, QbgenError]] = []
    bank = load_bank(roots, broken=broken)
    folders = bank.folders if within is None else (_folder_named(bank, within),)
    wanted = set(only or [])
    reports = [
        QuestionReport(id=path.stem, path=str(path), failures=[f"does not load: {exc}"])
        for path, exc in broken
        if (not wanted or path.stem in wanted) and any(f.holds(path) for f in folders)
    ]
    failed = {path.stem for path, _ in broken}
    # The questions to validate by id, or None for all of them.
    chosen = [ref for ref in only if ref not in failed] if only else None
    if chosen is None and within is not None:
        chosen = [qid for qid, bq in bank.questions.items() if folders[0].holds(bq.path)]
    elif chosen and within is not None:
        outside = next((ref for ref in chosen if not folders[0].holds(bank.get(ref).path)), None)
        if outside is not None:
            theirs = bank.folder_of(bank.get(outside).path).name
            raise InputError(f"question {outside!r} is in the bank {theirs}, not {within}", field="--only")
    if chosen is None or chosen:
        reports += validate(bank, seeds, chosen)
    if not only:
        reports += [_spec_report(path, bank) for folder in folders for path in folder.specs()]
    return bank, reports


def _folder_named(bank: Bank, name: str) -> BankFolder:
    # A bank of the run by its name (bank.yaml's, or `builtin`) or its folder's name.
    for folder in bank.folders:
        if name in (folder.name, folder.root.resolve().name):
            return folder
    raise InputError(f"no bank {name!r} in this run; the banks: {bank.names()}", field="--only")


def _spec_report(path: Path, bank: Bank) -> QuestionReport:
    # A spec resolves against the bank: its questions, its pools, its marks.
    report = QuestionReport(id=f"spec {path.stem}", path=str(path))
    try:
        load_spec(path, bank)
    except QbgenError as exc:
        report.failures.append(str(exc))
    return report


COMPILE_DRAWS = 3  # new draws of a parameterised question `--compile` typesets, beside the paper's


@dataclass(frozen=True)
class _Draw:
    """One instance `--compile` typesets: its question, its seed (None: as set), the instance."""

    bq: BankQuestion
    seed: int | None
    inst: QuestionInstance

    @property
    def name(self) -> str:
        return f"{self.bq.id} ({'original values' if self.seed is None else f'seed {self.seed}'})"


def _draws(bank: Bank, reports: list[QuestionReport], draws: int) -> list[_Draw]:
    # The paper as set and new papers: what a view shows differs (`only:`, new numbers).
    out: list[_Draw] = []
    for r in reports:
        if not (r.ok and r.id in bank.questions):  # a question's report, not a spec's
            continue
        bq = bank.questions[r.id]
        seeds: list[int | None] = [] if bq.generator and bq.question.original is None else [None]
        seeds += list(range(draws if bq.generator else 1))
        try:
            out += [_Draw(bq, s, instantiate(bq, str(len(out) + 1), s)) for s in seeds]
        except QbgenError as exc:  # a draw validate's own seeds did not reach
            r.failures.append(str(exc))
    return out


def compile_questions(bank: Bank, reports: list[QuestionReport], draws: int = COMPILE_DRAWS) -> None:
    """Typeset every passing question (its key view) for several draws, all in one document.

    Each question is typeset as set and for `draws` new seeds (those validate drew, so
    no more than its `--seeds`). A question LaTeX rejects
    gets the failure in its report, placed in its file (the line and field whose text
    holds the error); the document is typeset again without it, until the rest compiles.
    """
    by_id = {r.id: r for r in reports}
    pending = _draws(bank, reports, draws)
    fmt = ensure_format(preamble(bank.packages))
    with tempfile.TemporaryDirectory(prefix="qbgen-compile-") as tmp:
        while pending:
            tex = Path(tmp) / "all.tex"
            try:
                _typeset_together([d.inst for d in pending], tex, fmt, bank.packages)
                _overfull_warnings(tex, by_id, pending)
                return
            except TypesetError as exc:
                lines = tex.read_text("utf-8").splitlines()
                culprit = _draw_at(pending, lines, exc.line) if exc.question else None
                if culprit is not None:
                    placed = _placed(culprit, lines, exc)
                    by_id[culprit.bq.id].failures.append(f"{culprit.name}: does not typeset: {placed}")
                    pending = [d for d in pending if d.bq.id != culprit.bq.id]
                    continue
                # Not placed in a question (a run stopped at its time limit shows no line):
                # each question alone says which fail; if none does, they fail together.
                alone = _failing_alone([d.inst for d in pending], Path(tmp), fmt, bank.packages)
                for qid in dict.fromkeys(d.bq.id for d in pending):
                    why = alone.get(qid)
                    if why is not None:
                        by_id[qid].failures.append(f"{qid}: does not typeset: {why}")
                    elif not alone:
                        by_id[qid].failures.append(f"does not typeset with the others: {exc.detail()}")
                if not alone:
                    return
                pending = [d for d in pending if d.bq.id not in alone]


def _draw_at(pending: list[_Draw], lines: list[str], line: int | None) -> _Draw | None:
    # The k-th question span of the document (its `lines`) is the k-th draw typeset.
    if line is None:
        return None
    begun = sum(1 for text in lines[:line] if text.startswith("% qbgen: begin "))
    return pending[begun - 1] if 1 <= begun <= len(pending) else None


def _fields(draw: _Draw) -> list[tuple[Loc, str]]:
    # (location in the question file, rendered LaTeX) of each text the key prints.
    q, inst, original = draw.bq.question, draw.inst, draw.seed is None
    out: list[tuple[Loc, str]] = [(("prompt",), inst.prompt), (("key_note",), inst.key_note)]

    def scheme(loc: Loc, items: list[Any], lines: Sequence[Any]) -> None:
        out.extend(
            (loc + (j, "text"), line.text)
            for (j, _), line in zip(in_view(items, original), lines, strict=True)
        )

    def answers(loc: Loc, items: list[Any], given: Sequence[Any]) -> None:
        for (j, _), a in zip(in_view(items, original), given, strict=True):
            for name in ("label", "text", "explanation", "caption"):
                value = getattr(a, name, None)
                if isinstance(value, str) and value:
                    out.append((loc + (j, name), value))

    scheme(("rubric",), q.rubric, inst.rubric)
    answers(("answers",), q.answers, inst.own_answers)
    for i, (part, pi) in enumerate(zip(q.parts, inst.parts, strict=True)):
        out.append((("parts", i, "prompt"), pi.prompt))
        scheme(("parts", i, "rubric"), part.rubric, pi.rubric)
        answers(("parts", i, "answers"), part.answers, pi.answers)
    return out


def _placed(draw: _Draw, lines: list[str], exc: TypesetError) -> str:
    # The question file's line and field whose text holds the .tex line LaTeX stopped at;
    # a worked step's is the generator's; else the .tex's own place, as LaTeX gave it.
    at = exc.line or 0
    sources = dict(text_fields(draw.bq.question))
    for loc, text in _fields(draw):
        first = next((t.strip() for t in text.splitlines() if t.strip()), "")
        if not first:
            continue
        for start in range(max(at - text.count("\n") - 1, 0), at):  # 0-based; `at` is 1-based
            if first in lines[start]:
                template = sources.get(loc, text)
                offset = min(at - start, template.count("\n") + 1)  # Jinja may drop lines
                return str(text_error(draw.bq.doc, loc, template, offset, exc.message))
    if draw.bq.generator is not None and any(
        str(step).strip() and any(str(step).strip()[:40] in ln for ln in lines[max(at - 3, 0) : at])
        for step in draw.inst.all_steps()
    ):
        return f"{draw.bq.generator.path}: a worked step of solve: {exc.message}"
    return exc.detail()


def _typeset_together(
    questions: list[QuestionInstance], tex: Path, fmt: Path | None, packages: tuple[Package, ...]
) -> None:
    marks = sum(q.marks for q in questions)
    exam = Exam(
        spec_name="validate", institute="", course="qbgen validate --compile", title="",
        date="", duration="", max_marks=marks, instructions=(), style="iitjammu-b", seed=0, packages=packages,
        sections=(SectionInstance(number=1, title="", marks=marks, questions=tuple(questions)),),
    )  # fmt: skip
    tex.write_text(render(exam, answers=True), "utf-8")
    typeset(tex, fmt=fmt)


def _failing_alone(
    questions: list[QuestionInstance], folder: Path, fmt: Path | None, packages: tuple[Package, ...]
) -> dict[str, str]:
    failing = {}
    for q in questions:
        try:
            _typeset_together([q], folder / "one.tex", fmt, packages)
        except TypesetError as exc:
            failing[q.id] = exc.detail()
    return failing


def _overfull_warnings(tex: Path, by_id: dict[str, QuestionReport], draws: list[_Draw]) -> None:
    # A line that runs into the margin is a layout fault an author should see: which
    # draw, and the text of the line.
    log = tex.with_suffix(".log").read_text("latin-1")
    lines = tex.read_text("utf-8").splitlines()
    for _, width, line in overfull_lines(log, lines):
        draw = _draw_at(draws, lines, line)
        if draw is not None and draw.bq.id in by_id:
            text = " ".join(lines[line - 1].split())[:60]
            warning = f"{draw.name}: a line of its text or key runs {width:.0f}pt into the margin: {text}"
            if warning not in by_id[draw.bq.id].warnings:
                by_id[draw.bq.id].warnings.append(warning)


def write_junit(reports: list[QuestionReport], path: Path, seconds: float) -> None:
    """Write a JUnit XML report: one testcase per question."""
    import xml.etree.ElementTree as ET  # only a --junit run pays for it

    suite = ET.Element(
        "testsuite",
        name="qbgen validate",
        tests=str(len(reports)),
        failures=str(sum(not r.ok for r in reports)),
        errors="0",
        time=f"{seconds:.3f}",
    )
    for r in reports:
        case = ET.SubElement(suite, "testcase", classname=r.path, name=r.id, time="0")
        if not r.ok:
            seed = "original values" if r.failing_seed is None else f"seed {r.failing_seed}"
            fail = ET.SubElement(case, "failure", message=f"{r.failures[0]} ({seed})")
            fail.text = "\n".join(r.failures)
        out = [f"{r.seeds} seeds"] + [f"warning: {w}" for w in r.warnings]
        ET.SubElement(case, "system-out").text = "\n".join(out)
    root = ET.Element("testsuites")
    root.append(suite)
    tree = ET.ElementTree(root)
    ET.indent(tree)
    # Written whole or not at all: a temporary file beside it, then renamed.
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        tree.write(tmp, encoding="utf-8", xml_declaration=True)
        os.replace(tmp, path)
    except OSError as exc:
        raise InputError.unwritable(path, exc, "the JUnit report", field="--junit") from None
