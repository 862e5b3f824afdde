"""The command line: a thin typer shell over the Python API.

Room: parsing options, calling one API function per command, formatting its result.
Imports everything below it. A `QbgenError` becomes one stderr line, `error: ...`, and
its exit code (2 bad input, 1 a failing question); `--debug` shows the traceback.
"""

# ruff: noqa: E402 (the imports come after Ctrl-C is taken over: they are what it guards)
from __future__ import annotations

import atexit
import gc
import os
import signal
import sys


def _interrupted_at_start(_signum: int, _frame: object) -> None:
    # Ctrl-C while the modules below import (half a second of it): nothing has been read
    # or written yet, so the run ends here, in one line, not in a traceback from
    # whichever module was importing (nor in one of its `except` clauses).
    os.write(2, b"error: interrupted\n")
    os._exit(130)


def _started_as_qbgen() -> bool:
    # Only a run of the program takes Ctrl-C over, never a Python session importing
    # qbgen.cli: `python -m qbgen` (its __main__'s spec), or the console script.
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    if spec is not None:
        return bool(spec.name == "qbgen.__main__")
    return os.path.basename(sys.argv[0]) == "qbgen"


if _started_as_qbgen() and signal.getsignal(signal.SIGINT) is signal.default_int_handler:
    signal.signal(signal.SIGINT, _interrupted_at_start)
    # qbgen's models use no pydantic plugin: the program does not search every installed
    # package's metadata for one (a few ms of each start).
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "1")
    # Importing makes objects by the hundred thousand and hardly any garbage, yet the
    # collector would run some 140 times over them (25 ms of a build): it rests until
    # the command's modules are in, which it then never scans again (`_settled`).
    gc.disable()

import copy
import dataclasses
import errno
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from typer.core import TyperCommand, TyperOption

from .errors import InputError, QbgenError

if TYPE_CHECKING:
    from .bank import Bank

# Each command imports the stages it runs inside its body: `qbgen --help` reads no
# model, and `qbgen list` loads the bank but not the writers, typesetting or PDF libraries.

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",  # docstrings reflow: a line break in the source is not one on screen
    help="qbgen: question banks to exam papers and matched answer keys (PDF, via LaTeX).",
)
T = TypeVar("T")

BankOpt = Annotated[
    list[Path] | None,
    typer.Option(
        "--bank",
        help="Bank folder; again for more banks, `builtin` for the shipped one "
        "(default: $QBGEN_BANK, folders separated by `:`, else the shipped bank).",
    ),
]
DebugOpt = Annotated[bool, typer.Option("--debug", help="Show tracebacks of errors.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


def _here() -> bool:
    try:
        os.getcwd()
    except FileNotFoundError:  # the folder was removed, or swapped out by a build into it
        return False
    return True


def _settled() -> None:
    # The command's modules are imported: they stay (frozen out of every collection),
    # and the collector runs again for what the command itself makes.
    if not gc.isenabled():
        gc.freeze()
        gc.enable()


def _run(debug: bool, fn: Callable[[], T]) -> T:
    _settled()
    try:
        if not _here():
            raise InputError(
                "the current folder no longer exists (a build replaced it?); `cd .` and run again"
            )
        result = fn()
        if not _here():  # the shell's folder was the output folder, now swapped whole
            typer.echo("note: the output folder was replaced whole; `cd .` to see the new files", err=True)
        return result
    except QbgenError as exc:
        if debug:
            raise
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt as exc:
        # Before publishing nothing of the output has changed; during it, Ctrl-C waits
        # until the new output is whole (publish.Interrupted says so).
        what = getattr(exc, "what", "earlier output left as it was")
        typer.echo(f"error: interrupted; {what}", err=True)
        _told.append("interrupted")
        raise typer.Exit(130) from None


# Whether `_run` has said the run was interrupted: typer turns a Ctrl-C outside it
# (while options are parsed, while a result prints) into a silent exit 130.
_told: list[str] = []


def _bank(paths: list[Path] | None) -> Bank:
    from .bank import load_bank
    from .resources import bank_dirs

    return load_bank(bank_dirs(paths))


def _spec_path(bank: Bank, spec: Path | None) -> Path:
    # A spec file, or a spec's name in any bank's exams/; none given, the one spec of
    # the banks that are not the shipped one (the shipped bank alone: paper-b).
    from .resources import is_shipped

    specs = [p for f in bank.folders for p in f.specs()]
    known = ", ".join(dict.fromkeys(p.stem for p in specs))
    whose = "this bank's" if len(bank.folders) == 1 else "the banks'"
    if spec is None:
        if all(is_shipped(f.root) for f in bank.folders):
            return _spec_path(bank, bank.root / "exams" / "paper-b.yaml")
        own = [p for f in bank.folders if not is_shipped(f.root) for p in f.specs()]
        if len(own) == 1:
            return own[0]
        names = ", ".join(p.stem for p in own) or f"none yet in {bank.root / 'exams'}"
        raise InputError(f"which exam spec? give one: {whose} specs: {names}", file=bank.root)
    if not spec.exists() and len(spec.parts) == 1:  # `qbgen build paper-a`: by name
        name = spec.name if spec.suffix == ".yaml" else f"{spec.name}.yaml"
        named = [p for p in specs if p.name == name]
        if len(named) > 1:
            raise InputError(
                f"exam spec {spec.name!r} is in more than one bank: {named[0]} and {named[1]}; give its path",
                file=spec,
            )
        if named:
            return named[0]
    if not spec.is_file():
        hint = f"; {whose} specs: {known}" if known else f"; {bank.root / 'exams'} holds none"
        raise InputError(f"exam spec not found{hint}", file=spec)
    return spec


@app.command("list")
def list_(bank: BankOpt = None, as_json: JsonOpt = False, debug: DebugOpt = False) -> None:
    """List the bank's questions: id, topic, kind, marks, parameterised, sources.

    Example: qbgen list --json
    """
    from .listing import bank_rows

    rows = _run(debug, lambda: bank_rows(bank))
    if as_json:
        _run(debug, lambda: _print(json.dumps(rows, indent=2), "the list"))
        return
    # A header row over the columns, in the rows' own widths (`--json` for scripts).
    lines = [f"{'id':<28} {'topic':<12} {'kind':<8} {'marks':>5}  {'param':<6} sources"]
    for r in rows:
        flag = "param" if r["parameterized"] else "-"
        lines.append(
            f"{r['id']:<28} {r['topic']:<12} {r['kind']:<8} {r['marks']:>5g}  {flag:<6}"
            f" {', '.join(r['sources'])}"
        )
    _run(debug, lambda: _print("\n".join(lines), "the list"))
    typer.echo(f"{len(rows)} questions", err=True)


def _print(text: str, what: str) -> None:
    """Write `text` and a newline to stdout, now; a stdout that cannot take it is one line.

    `> /dev/full` (or a full disk) is an error of where the output goes. A reader that
    went away (`| head`) is not: the output ends quietly, as other tools' does.
    """
    try:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()
    except OSError as exc:
        _drop_stdout()
        if exc.errno == errno.EPIPE:
            raise typer.Exit(1) from None
        raise InputError.unwritable("<stdout>", exc, what) from None


def _drop_stdout() -> None:
    # What is still buffered would fail again when Python flushes stdout at exit, and
    # print a second complaint there: from now on stdout goes nowhere.
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
        os.close(null)
    except (OSError, ValueError):
        pass  # stdout is not a file here (a test's capture): nothing is flushed at exit


@app.command()
def show(
    question: Annotated[str, typer.Argument(help="Question id or source, e.g. paper-b:7.")],
    seed: Annotated[int | None, typer.Option(min=0, help="Seed of the instance.")] = None,
    original: Annotated[bool, typer.Option("--original", help="The paper's own values.")] = False,
    bank: BankOpt = None,
    as_json: JsonOpt = False,
    debug: DebugOpt = False,
) -> None:
    """Show one instance of a question: its params and computed answers.

    Example: qbgen show paper-b:7 --original --json
    """
    from .assemble import show_instance
    from .writers import question_record

    def go() -> Any:
        b = _bank(bank)
        if seed is not None and original:
            raise InputError("give --seed or --original, not both")
        return show_instance(b, question, None if (original or seed is None) else seed)

    inst = _run(debug, go)
    record = question_record(inst)
    data = {k: record[k] for k in ("id", "seed", "marks", "params", "answers", "accept", "mistakes")}
    if as_json:
        typer.echo(json.dumps(data, indent=2))
        return
    typer.echo(f"{inst.id}: {inst.title} [{inst.marks:g} marks]")
    typer.echo(f"seed: {'original values' if inst.seed is None else inst.seed}")
    for name in ("params", "answers", "accept", "mistakes"):
        if data[name]:
            typer.echo(f"{name}:")
        for k, v in data[name].items():
            typer.echo(f"  {k}: {json.dumps(v)}")


class _Progress:
    """A one-line progress bar on stderr, for builds of more than one paper."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.shown = False

    def __call__(self, stage: str, done: int, total: int) -> None:
        if not self.tty or total <= 0:
            return
        width = 30
        fill = int(width * done / total)
        sys.stderr.write(f"\r{stage:<10} [{'#' * fill}{'.' * (width - fill)}] {done}/{total} ")
        sys.stderr.flush()
        self.shown = True

    def close(self) -> None:
        if self.shown:
            sys.stderr.write("\r" + " " * 60 + "\r")


def _draws(
    bank: list[Path] | None,
    spec: Path | None,
    seed: int | None,
    original: bool,
    roster: Path | None,
    languages: str | None = None,
    layout: str | None = None,
) -> tuple[Bank, Any, list[Any] | None]:
    # What build and export both read: the bank, the spec (--languages, --layout over its
    # own), and the roster if any.
    from .roster import load_roster
    from .spec import load_spec, with_languages

    b = _bank(bank)
    loaded = load_spec(_spec_path(b, spec), b)
    if seed is not None and original:
        raise InputError("give --seed or --original, not both")
    if languages is not None or layout is not None:
        loaded = with_languages(loaded, languages, layout)
    chosen = loaded.spec.languages if loaded.spec.layout == "candidate" else None
    students = load_roster(roster, loaded.spec.roster_columns, chosen) if roster is not None else None
    return b, loaded, students


LanguagesOpt = Annotated[
    str | None,
    typer.Option(
        "--languages",
        metavar="en,hi",
        help="The paper's languages, primary first (default: the spec's): each question in each.",
    ),
]
LayoutOpt = Annotated[
    str | None,
    typer.Option(
        "--layout",
        metavar="parallel|columns|candidate",
        help="Several languages: one after the other, side by side, or each student's (roster `language`).",
    ),
]


@app.command()
def build(
    spec: Annotated[
        Path | None, typer.Argument(help="Exam spec (default: the bank's exams/paper-b.yaml).")
    ] = None,
    seed: Annotated[int | None, typer.Option(min=0, help="Exam seed (default: the spec's).")] = None,
    original: Annotated[bool, typer.Option("--original", help="The papers' own values.")] = False,
    variants: Annotated[
        int | None, typer.Option(min=1, max=702, help="K sets, A, B, C, ..., each with its key.")
    ] = None,
    roster: Annotated[
        Path | None, typer.Option(help="CSV with id and name columns: one paper per student.")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Output folder (default: output/<spec>/).")] = None,
    jobs: Annotated[int | None, typer.Option(min=1, help="LaTeX runs at once (default: cores).")] = None,
    student_keys: Annotated[
        bool, typer.Option("--student-keys", help="With --roster: a key per student too, and keys.pdf.")
    ] = False,
    on_paper: Annotated[
        bool,
        typer.Option(
            "--on-paper", help="Answers on paper: answer space after every part, a cover with a marks table."
        ),
    ] = False,
    split_by: Annotated[
        str | None,
        typer.Option(
            "--split-by",
            metavar="section",
            help="With --roster: also exams-SECTION.pdf, each section's papers, for printing.",
        ),
    ] = None,
    large_print: Annotated[
        int | None,
        typer.Option(
            "--large-print",
            metavar="18|24",
            help="Modified large print: that body size (pt), a question per page, figures and room scaled.",
        ),
    ] = None,
    per_question: Annotated[
        bool,
        typer.Option(
            "--per-question", help="Also a PDF per question, q-1.pdf, q-2.pdf, ... (split sittings)."
        ),
    ] = False,
    html: Annotated[
        bool,
        typer.Option(
            "--html", help="Also exam.html per paper: accessible (headings, MathML, alt text), offline."
        ),
    ] = False,
    languages: LanguagesOpt = None,
    layout: LayoutOpt = None,
    bank: BankOpt = None,
    as_json: JsonOpt = False,
    debug: DebugOpt = False,
) -> None:
    """Build exam.pdf and key.pdf (with .tex and manifest.json) from an exam spec.

    With --variants K or --roster FILE, one folder per set or student, plus exams.pdf and
    keys.pdf holding every paper (each from an odd page, for duplex printing), crib.pdf
    (every paper's numbers by question) and marks.csv/responses.csv. A roster build
    typesets one model key (key.pdf, the first student's) unless --student-keys;
    --split-by section adds exams-SECTION.pdf per section of the roster.

    --languages en,hi sets every question in both (--layout parallel, columns, or candidate:
    one paper per student in the roster's `language`), each translation proved to print the
    same numbers.

    Accommodations, the same draw in another form: --large-print 18|24; a roster's
    `accommodation` column (large-print-24; extra-time-25) gives those students theirs;
    --per-question adds q-NAME.pdf per question; --html an accessible exam.html per paper.

    Example: qbgen build bank/exams/paper-b.yaml --variants 20
    """
    from .build import build as build_paper

    progress = _Progress()

    def go() -> Any:
        b, loaded, students = _draws(bank, spec, seed, original, roster, languages, layout)
        if on_paper:  # as if the spec said `on_paper: true`
            loaded = dataclasses.replace(loaded, spec=loaded.spec.model_copy(update={"on_paper": True}))
        return build_paper(
            loaded,
            b,
            out or Path("output") / loaded.name,
            seed=seed,
            original=original,
            variants=variants,
            roster=students,
            jobs=jobs,
            progress=progress if (variants or students) else None,
            student_keys=student_keys,
            split_by=split_by,
            large_print=large_print or 0,
            per_question=per_question,
            html=html,
        )

    try:
        result = _run(debug, go)
    finally:
        progress.close()
    if as_json:
        typer.echo(json.dumps({"out": str(result.out), "files": [str(f) for f in result.files]}))
        return
    for qid, most, count in result.overfull:
        lines = f"{count} lines" if count > 1 else "a line"
        typer.echo(f"note: {qid}: {lines} set {most:.1f} pt past the margin (see the PDF)", err=True)
    for sheet in result.kept:
        typer.echo(
            f"note: kept {result.out / sheet}: it holds more than a fresh sheet (delete it for a new one)",
            err=True,
        )
    if result.papers == 1:
        for f in result.files:
            typer.echo(str(f))
    typer.echo(
        f"{result.papers} paper{'s' if result.papers != 1 else ''} "
        f"{'and a model key' if result.manifest.get('model_key') else 'with keys'}, "
        f"{result.pages} pages, {result.seconds:.1f} s -> {result.out}",
        err=True,
    )


@app.command()
def export(
    spec: Annotated[
        Path | None, typer.Argument(help="Exam spec (default: the bank's exams/paper-b.yaml).")
    ] = None,
    to: Annotated[
        str, typer.Option(help="The target: moodle, canvas, qti21, or one an installed plugin adds.")
    ] = "moodle",
    seed: Annotated[int | None, typer.Option(min=0, help="Exam seed (default: the spec's).")] = None,
    original: Annotated[bool, typer.Option("--original", help="The papers' own values.")] = False,
    variants: Annotated[int | None, typer.Option(min=1, max=702, help="K sets, A, B, C, ...")] = None,
    roster: Annotated[
        Path | None, typer.Option(help="CSV with id and name columns: one set per student.")
    ] = None,
    feedback: Annotated[
        bool, typer.Option("--feedback", help="Show students the worked steps after the attempt.")
    ] = False,
    out: Annotated[Path | None, typer.Option(help="Output folder (default: output/<spec>-<to>/).")] = None,
    languages: LanguagesOpt = None,
    layout: LayoutOpt = None,
    bank: BankOpt = None,
    as_json: JsonOpt = False,
    debug: DebugOpt = False,
) -> None:
    """Export the same draws as `build` to an LMS, with manifest.json and export-report.txt.

    moodle: quiz.xml (Moodle XML); canvas: canvas.zip (QTI 1.2, a quiz per set); qti21:
    qti21.zip (an IMS QTI 2.1 content package).

    The manifests are those `qbgen build` writes for the same spec, seed and sets, so the
    paper, its key and the LMS quiz match. What the target cannot carry is listed in the
    report and on stderr.

    Example: qbgen export bank/exams/paper-b.yaml --to moodle --variants 3
    """
    from .build import export as export_quiz

    def go() -> Any:
        b, loaded, students = _draws(bank, spec, seed, original, roster, languages, layout)
        return export_quiz(
            loaded,
            b,
            out or Path("output") / f"{loaded.name}-{to}",
            to=to,
            seed=seed,
            original=original,
            variants=variants,
            roster=students,
            feedback=feedback,
        )

    result = _run(debug, go)
    for line in result.report:
        typer.echo(f"note: {line}", err=True)
    if as_json:
        typer.echo(json.dumps({"out": str(result.out), "files": [str(f) for f in result.files]}))
        return
    for f in result.files:
        typer.echo(str(f))
    typer.echo(
        f"{result.papers} set{'s' if result.papers != 1 else ''} for {to}, "
        f"{result.seconds:.1f} s -> {result.out}",
        err=True,
    )


@app.command()
def scan(
    folder: Annotated[Path, typer.Argument(help="The build folder (an on-paper build).")],
    scans: Annotated[list[Path], typer.Argument(help="Scanned PDFs or images, any number, in any order.")],
    assign: Annotated[
        list[str] | None,
        typer.Option(help="Place a page by hand: FILE:PAGE=STUDENT:PAGE (repeatable)."),
    ] = None,
    jobs: Annotated[int | None, typer.Option(min=1, help="Pages read at once (default: cores).")] = None,
    as_json: JsonOpt = False,
    debug: DebugOpt = False,
) -> None:
    """Place scanned pages with their students and cut every answer region into FOLDER/scans/.

    Each page's QR code says whose page it is; its corner marks straighten it. Pages that
    cannot be placed are listed (with a thumbnail in scans/unplaced/), never guessed, and
    every page a paper lacks is reported. A second run adds pages to what is there.

    Example: qbgen scan output/quiz-sec-a scans/*.pdf
    """
    from .scan import scan as scan_pages

    result = _run(debug, lambda: scan_pages(folder, scans, assign=assign or (), jobs=jobs))
    for s in result.unplaced:
        typer.echo(f"note: {s.source.file} page {s.source.page}: {s.status} (not placed)", err=True)
    for code, page in result.missing[:20]:
        typer.echo(f"note: missing: {code or 'the paper'}, page {page}", err=True)
    if len(result.missing) > 20:
        typer.echo(f"note: missing: {len(result.missing) - 20} more pages (scans/missing.csv)", err=True)
    if as_json:
        typer.echo(
            json.dumps({"out": str(result.out), "placed": result.placed, "missing": len(result.missing)})
        )
        return
    typer.echo(
        f"{result.placed} pages placed, {len(result.unplaced)} not placed, {len(result.missing)} missing"
        f" -> {result.out}",
        err=True,
    )


@app.command()
def mark(
    folder: Annotated[Path, typer.Argument(help="The build folder (scanned or not).")],
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port on 127.0.0.1 (0: any free one).")] = 0,
    browser: Annotated[
        bool, typer.Option("--browser/--no-browser", help="Open the app in a browser.")
    ] = True,
    export: Annotated[
        bool, typer.Option("--export", help="Write the marks given into marks.csv and stop (no app).")
    ] = False,
    bank: BankOpt = None,
    debug: DebugOpt = False,
) -> None:
    """Mark in the browser: one question across every student, their own numbers beside each answer.

    Starts a local app (127.0.0.1 only, behind a random token in the address it prints).
    Marks are kept in FOLDER/marking/marks.sqlite as they are given; marks typed into
    marks.csv come in. --export (or the app's button) writes them into marks.csv for
    `qbgen grade`. The model answers are drawn again from the bank (--bank, as built).

    Example: qbgen mark output/quiz-sec-a
    """
    from . import mark as marking

    if export:
        path, given, total = _run(debug, lambda: marking.export(folder))
        typer.echo(f"{given} of {total} answers marked -> {path}", err=True)
        return

    def go() -> None:
        b = _bank(bank)
        marking.serve(folder, bank=b, port=port, browser=browser, say=lambda s: typer.echo(s, err=True))

    _run(debug, go)


@app.command("return")
def return_(
    folder: Annotated[Path, typer.Argument(help="A scanned and marked build folder.")],
    key: Annotated[
        bool, typer.Option("--key", help="Add each student's own key (a --student-keys build).")
    ] = False,
    debug: DebugOpt = False,
) -> None:
    """Give marked scripts back: FOLDER/returned/ID.pdf per student, and returned.csv for an LMS.

    Each PDF is a front page with the student's marks, rubric lines and comments, then
    their scanned pages with each answer's mark stamped beside it. The marks are those
    of `qbgen mark` (and marks.csv), the same `qbgen grade` totals.

    Example: qbgen return output/quiz-sec-a
    """
    from .handback import hand_back

    result = _run(debug, lambda: hand_back(folder, key=key))
    for sid in result.without_scans[:20]:
        typer.echo(f"note: {sid}: no scanned page, nothing returned", err=True)
    typer.echo(f"{len(result.returned)} marked scripts -> {result.folder}", err=True)


@app.command()
def grade(
    folder: Annotated[Path, typer.Argument(help="A folder `qbgen build` wrote (its manifests and sheets).")],
    marks: Annotated[
        Path | None, typer.Option(help="The filled marks sheet (default: FOLDER/marks.csv).")
    ] = None,
    responses: Annotated[
        Path | None, typer.Option(help="Typed final answers (default: FOLDER/responses.csv, if there).")
    ] = None,
    as_json: JsonOpt = False,
    debug: DebugOpt = False,
) -> None:
    """Total the marks, mark typed answers against each paper's key, and analyse the items.

    Writes grades.csv, gradebook.csv (for Canvas's gradebook import, and Moodle's by ID
    number), gradebook-moodle.csv (Moodle's, by email or username, where the roster has
    them), responses-marked.csv, items.csv (facility, discrimination, reliability; per
    section too) and grading-report.pdf into FOLDER. A bad mark is one line: sheet,
    line, column.

    Example: qbgen grade output/quiz-sec-a
    """
    from .grade import grade as grade_build

    result = _run(debug, lambda: grade_build(folder, marks, responses))
    if as_json:
        typer.echo(json.dumps({"files": [str(f) for f in result.files], "students": result.students}))
        return
    for f in result.files:
        typer.echo(str(f))
    alpha = "n/a" if result.alpha != result.alpha else f"{result.alpha:.2f}"
    review = f"; to review: {', '.join(result.flagged)}" if result.flagged else ""
    typer.echo(f"{result.students} students, mean {result.mean:.1f}, alpha {alpha}{review}", err=True)


@app.command()
def validate(
    seeds: Annotated[int, typer.Option(min=0, help="Draws per generator.")] = 100,
    question: Annotated[list[str] | None, typer.Option("--question", "-q", help="Only these.")] = None,
    compile_: Annotated[
        bool, typer.Option("--compile", help="Also typeset each question as set and for up to 3 new draws.")
    ] = False,
    junit: Annotated[Path | None, typer.Option(help="Write a JUnit XML report here.")] = None,
    only: Annotated[
        str | None,
        typer.Option(
            "--only",
            metavar="BANK",
            help="Only this bank's questions and specs (its folder's name, or `builtin`); "
            "the other banks still resolve its specs.",
        ),
    ] = None,
    bank: BankOpt = None,
    as_json: JsonOpt = False,
    debug: DebugOpt = False,
) -> None:
    """Check every question: it loads, every generator draws, solves and passes check.

    Each numeric answer is also nudged and check must notice. Exit 0 when all pass, 1
    when any fails.

    Example: qbgen validate --seeds 500 --compile --junit validate.xml

    Example: qbgen validate --bank mine --bank builtin --only mine
    """
    started = time.monotonic()

    from .resources import bank_dirs
    from .validate import COMPILE_DRAWS, compile_questions, validate_folder, write_junit

    def go() -> Any:
        if junit is not None and junit.is_dir():  # said before the draws, not after them
            raise InputError(
                f"{junit} is a folder; give a file, e.g. {junit / 'validate.xml'}", field="--junit"
            )
        b, reports = validate_folder(bank_dirs(bank), seeds, question, within=only)
        if compile_:
            compile_questions(b, reports, draws=min(COMPILE_DRAWS, seeds))
        if junit is not None:
            write_junit(reports, junit, time.monotonic() - started)
        return reports

    reports = _run(debug, go)
    failed = [r for r in reports if not r.ok]
    if as_json:
        typer.echo(json.dumps([r.__dict__ | {"ok": r.ok} for r in reports], indent=2))
    else:
        for r in reports:
            status = "ok  " if r.ok else "FAIL"
            what = "resolves" if r.id.startswith("spec ") else f"{r.seeds:>5} seeds"
            typer.echo(f"{status} {r.id:<28} {what}")
            for f in r.failures:
                typer.echo(f"     {f}")
            for w in r.warnings:
                typer.echo(f"     warning: {w}")
        typer.echo(f"{len(reports) - len(failed)} passed, {len(failed)} failed")
    if failed:
        raise typer.Exit(1)


class _NewCommand(TyperCommand):
    """`qbgen new`, whose `--kind` help lists the kinds: read when the help is shown.

    The kinds registry loads the models (and the plugins' kinds); building every
    command's options for `qbgen --help` or `qbgen list` should not pay for it.
    """

    def format_help(self, ctx: Any, formatter: Any) -> None:
        """Name the kinds in `--kind`'s help, then format the help as any command's."""
        from .kinds import KINDS

        for param in self.params:
            if param.name == "kind" and isinstance(param, TyperOption):
                param.help = f"One of: {', '.join(KINDS)}."
        super().format_help(ctx, formatter)


@app.command(cls=_NewCommand)
def new(
    question: Annotated[str, typer.Argument(help="The new question's id, e.g. conv-output-size.")],
    kind: Annotated[str, typer.Option(help="The answer kind (`qbgen new --help` lists them).")] = "text",
    topic: Annotated[str, typer.Option(help="Topic folder of the bank.")] = "general",
    bank: BankOpt = None,
    debug: DebugOpt = False,
) -> None:
    """Write a question skeleton (and a generator for numeric and table kinds).

    It validates and builds as it is; its comments show where to write.

    Example: qbgen new conv-output-size --kind numeric --topic cnn --bank ~/my-bank
    """
    from .resources import authoring_guide, bank_dirs, first_bank, installed, is_shipped
    from .scaffold import new_question

    def go() -> list[Path]:
        root = first_bank(bank)  # the first bank named (made if new)
        if installed() and is_shipped(root):
            raise InputError(
                "give --bank DIR (or set QBGEN_BANK): without it the question would go into the "
                "installed qbgen package, which an upgrade replaces"
            )
        others = bank_dirs(bank[1:]) if bank and len(bank) > 1 else ()
        return new_question(root, question, kind, topic, others)

    files = _run(debug, go)
    for f in files:
        typer.echo(str(f))
    typer.echo(f"the question format, every field of a spec, the TeX packages: {authoring_guide()}", err=True)


@app.command()
def init(
    folder: Annotated[Path, typer.Argument(help="The new bank's folder (new or empty).")],
    institute: Annotated[str | None, typer.Option(help="The institute, as the header prints it.")] = None,
    course: Annotated[str | None, typer.Option(help="The course's name.")] = None,
    code: Annotated[str | None, typer.Option(help="The course code, e.g. CS 4410.")] = None,
    exam: Annotated[str | None, typer.Option(help="The exam's name, e.g. Midterm.")] = None,
    duration: Annotated[str | None, typer.Option(help="The duration, e.g. 2 hours.")] = None,
    instruction: Annotated[
        list[str] | None, typer.Option(help="An instruction printed under the header (repeatable).")
    ] = None,
    debug: DebugOpt = False,
) -> None:
    """Start a bank: a house style from your header, a sample question of each kind, a first spec.

    Also bank.yaml, _lib/, a .gitignore and a CI workflow. What the flags do not give is
    asked for when a person is at the terminal. The bank validates and builds as it is:
    `qbgen build --bank FOLDER`.

    Example: qbgen init cs4410 --institute "Northfield Institute" --code "CS 4410" --course "Deep Learning"
    """
    from .scaffold import init_bank

    asking = sys.stdin.isatty()

    def ask(value: str | None, question: str, default: str) -> str:
        if value is not None or not asking:
            return default if value is None else value
        return str(typer.prompt(question, default=default))

    # (Asked one by one, in the order of the header, before anything is written.)
    said_institute = ask(institute, "Institute", "")
    said_code = ask(code, "Course code", "")
    said_course = ask(course, "Course name", "Course")
    said_exam = ask(exam, "Exam name", "Examination")
    said_duration = ask(duration, "Duration", "")
    files = _run(
        debug,
        lambda: init_bank(
            folder,
            institute=said_institute,
            code=said_code,
            course=said_course,
            exam=said_exam,
            duration=said_duration,
            instructions=instruction or (),
        ),
    )
    for f in files:
        typer.echo(str(f))
    typer.echo(f"a bank of {sum(1 for f in files if f.suffix == '.yaml') - 2} sample questions in {folder}:"
               f" qbgen validate --bank {folder}; qbgen build --bank {folder}", err=True)  # fmt: skip


@app.command()
def preview(
    question: Annotated[str, typer.Argument(help="Question id or source.")],
    seed: Annotated[int | None, typer.Option(min=0, help="Seed (default: the paper's own values).")] = None,
    out: Annotated[Path, typer.Option(help="Folder of the preview PDF.")] = Path("output/preview"),
    watch: Annotated[bool, typer.Option("--watch", help="Rebuild when the question changes.")] = False,
    bank: BankOpt = None,
    debug: DebugOpt = False,
) -> None:
    """Typeset one question and its answer into a PDF, in about a second.

    Example: qbgen preview paper-b:7 --seed 3 --watch
    """
    from .build import preview as preview_question

    def once() -> Path:
        return preview_question(_bank(bank), question, out, seed=seed)

    if not watch:
        typer.echo(str(_run(debug, once)))
        return
    typer.echo("watching; Ctrl-C stops", err=True)
    last: tuple[float, ...] = ()
    try:
        while True:
            try:
                b = _bank(bank)
                bq = b.get(question)
                files = [bq.path] + ([bq.generator.path] if bq.generator else [])
                files += sorted((b.folder_of(bq.path).root / "_lib").rglob("*.py"))  # its shared code
                stamp = tuple(f.stat().st_mtime for f in files)
            except QbgenError as exc:
                stamp = (-1.0,)
                if stamp != last:
                    typer.echo(f"error: {exc}", err=True)
            if stamp != last and stamp != (-1.0,):
                try:
                    typer.echo(f"{time.strftime('%H:%M:%S')} {once()}")
                except QbgenError as exc:
                    typer.echo(f"error: {exc}", err=True)
            last = stamp
            time.sleep(0.5)
    except KeyboardInterrupt:
        raise typer.Exit(0) from None


@app.command()
def site(
    bank: BankOpt = None,
    seeds: Annotated[
        int, typer.Option(min=0, max=50, help="New draws shown for each parameterised question.")
    ] = 3,
    out: Annotated[Path, typer.Option(help="Output folder of the site.")] = Path("output/site"),
    as_json: JsonOpt = False,
    debug: DebugOpt = False,
) -> None:
    """Write the bank as a static HTML site for reviewers: open `index.html` from disk.

    The index lists every question (filter by topic and tag); each question's page shows
    the paper as set and new draws, the answers with the intervals a grader accepts and
    the mistakes they reject, the worked steps and the marking scheme. Math is rendered
    by the bundled KaTeX and figures are SVG: no LaTeX and no network are needed to read it.

    Example: qbgen site --seeds 3 --out output/site
    """
    from .build import site as write_site

    def go() -> Any:
        return write_site(_bank(bank), out, seeds=seeds)

    result = _run(debug, go)
    if as_json:
        typer.echo(json.dumps({"out": str(result.out), "questions": result.questions}))
        return
    typer.echo(str(result.out / "index.html"))
    typer.echo(f"{result.questions} questions, {result.seconds:.1f} s -> {result.out}", err=True)


@app.command()
def schema(
    out: Annotated[
        Path | None, typer.Option(help="Write question.schema.json and spec.schema.json here.")
    ] = None,
) -> None:
    """Print (or write) the JSON Schemas of question files and exam spec files.

    For editor completion with yaml-language-server, put this first line in a question
    file: `# yaml-language-server: $schema=../question.schema.json`

    Example: qbgen schema --out .
    """
    from .models import json_schemas

    schemas = json_schemas()
    if out is None:
        typer.echo(json.dumps(schemas, indent=2))
        return
    target = out

    def write() -> list[Path]:
        paths = []
        try:
            target.mkdir(parents=True, exist_ok=True)
            for name, body in schemas.items():
                path = target / f"{name}.schema.json"
                path.write_text(json.dumps(body, indent=2) + "\n", "utf-8")
                paths.append(path)
        except OSError as exc:
            raise InputError.unwritable(target, exc, "the schemas") from None
        return paths

    for path in _run(False, write):
        typer.echo(str(path))


class _Sigint:
    """What Ctrl-C has done in this run of the program (its handler, `_on_sigint`)."""

    seen = False  # a Ctrl-C came
    ended = False  # the command has ended and said so: a Ctrl-C now has nothing to stop


def _on_sigint(_signum: int, _frame: object) -> None:
    # Ctrl-C is a KeyboardInterrupt while the command runs (each says what it left), and
    # nothing once it has ended: the interpreter's shutdown would print a traceback from
    # whatever callback it lands in (CI saw one in an import lock's).
    _Sigint.seen = True
    if not _Sigint.ended:
        raise KeyboardInterrupt


def main() -> None:
    """Entry point of the `qbgen` console script.

    A wrong option or argument is bad input like any other: one line on stderr,
    `error: ...` and where to look, exit 2 (not a framed panel).
    """
    program = signal.getsignal(signal.SIGINT) is _interrupted_at_start
    try:
        _main(program)
    except SystemExit as done:
        if not program:
            raise
        _end(done.code)


def _end(code: object) -> None:
    # The program's command has ended and everything it wrote is closed: the process
    # ends here. The interpreter's own shutdown (freeing every module's objects, one by
    # one) would take longer than some commands; atexit's handlers still run.
    if isinstance(code, str):
        print(code, file=sys.stderr)
    status = code if isinstance(code, int) else 0 if code is None else 1
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a reader gone (`| head`) or a closed stream
            pass
    os._exit(status)


def _nothing() -> None:
    """Not a command: it keeps the one command `_app_for` makes a subcommand."""


def _app_for(args: list[str]) -> typer.Typer:
    # Typer turns every command's signature into options before it runs one (14 ms of
    # each start). When the first argument names a command, only that command is made,
    # beside a hidden stand-in (one command alone would be typer's whole program, taking
    # its name for an argument); its options, help and errors are the same.
    from typer.main import get_command_name
    from typer.models import CommandInfo

    if not args:
        return app
    names = [c.name or get_command_name(getattr(c.callback, "__name__", "")) for c in app.registered_commands]
    chosen = [c for c, name in zip(app.registered_commands, names, strict=True) if name == args[0]]
    if len(chosen) != 1:
        return app  # the group's own help, or its "no such command"
    one = copy.copy(app)
    one.registered_commands = [chosen[0], CommandInfo("qbgen-stand-in", callback=_nothing, hidden=True)]
    return one


def _main(program: bool) -> None:
    _told.clear()
    try:
        if program:
            signal.signal(signal.SIGINT, _on_sigint)
        code = _app_for(sys.argv[1:])(prog_name="qbgen", standalone_mode=False)
        _Sigint.ended = True
        if code == 130 and not _told:
            raise KeyboardInterrupt
    except (typer.Abort, KeyboardInterrupt):  # at a prompt, or outside a command's own handling
        _Sigint.ended = True
        typer.echo("error: interrupted", err=True)
        sys.exit(130)
    except Exception as exc:
        _Sigint.ended = True
        if program and _Sigint.seen:
            # A Ctrl-C that landed inside an extension's C code comes back as that
            # extension's error (pydantic's schema builder wraps it): still an interruption.
            typer.echo("error: interrupted", err=True)
            sys.exit(130)
        # click's UsageError (vendored inside newer typer, so matched by its interface)
        message = getattr(exc, "format_message", None)
        if not callable(message) or getattr(exc, "exit_code", None) != 2:
            raise
        ctx = getattr(exc, "ctx", None)
        where = f" (see: {ctx.command_path} --help)" if ctx is not None else ""
        typer.echo(f"error: {message()}{where}", err=True)
        sys.exit(2)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":  # pragma: no cover
    main()
