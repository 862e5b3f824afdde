"""Stage 3: assemble an `Exam` from a spec, the bank, a seed and a variant.

Room: choosing the questions (pools, shuffles), drawing each question's parameters
from its own order-independent seed, running `solve` and `check`, and rendering the
question's text templates. Imports errors, models, seeds, latex, authoring, bank, spec,
numbers. A question in several languages is rendered once per language from the one
draw, and each translation is proved to print what the first language prints
(`prove_same`). The result is frozen: the render stage can only place what is decided here.
"""

from __future__ import annotations

import contextlib
import difflib
import math
import re
import signal
import sys
import threading
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import jinja2
from pydantic import ValidationError

from . import authoring
from .bank import Bank, BankQuestion, Loc, PlainText, checked_params, language_error
from .errors import InputError, QbgenError, QuestionFailure
from .frozen import deep_freeze
from .kinds import KINDS, AnswerInstance, AnswerSpec, InstanceContext, Rendered
from .latex import NoEscape, collect_figures
from .models import (
    Candidate,
    Exam,
    Layout,
    PartInstance,
    QuestionInstance,
    RubricLine,
    SectionInstance,
    Space,
    in_view,
)
from .numbering import DEFAULT, Numbering
from .numbers import printed_numbers
from .seeds import derive_seed, rng_for
from .settings import settings
from .spec import LoadedSpec

PART_LABELS = "abcdefghijklmnopqrstuvwxyz"


def _where(exc: BaseException, bq: BankQuestion) -> tuple[str, int | None]:
    # Point at the bank's generator line that raised, if any; else the question file.
    if bq.generator is not None:
        gen = str(bq.generator.path.resolve())
        for frame in reversed(traceback.extract_tb(exc.__traceback__)):
            if frame.filename == gen:
                return gen, frame.lineno
    return str(bq.path), None


class _Overtime(BaseException):
    """A generator call ran past its time.

    A BaseException, so `except Exception` in bank code cannot swallow it.
    """


def _limited(seconds: float, fn: Callable[..., Any], *args: Any) -> Any:
    # SIGALRM interrupts Python code only in the main thread (forked workers run
    # generators there too); elsewhere the call runs unlimited.
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        return fn(*args)

    def overtime(signum: int, frame: Any) -> None:
        raise _Overtime

    previous = signal.signal(signal.SIGALRM, overtime)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        return fn(*args)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _call(bq: BankQuestion, what: str, seed: int | None, fn: Callable[..., Any], *args: Any) -> Any:
    # A generator's print() goes to stderr, never into the stdout of `--json` commands;
    # its sys.exit() is the question's failure, not the end of validate (exit 0, no report);
    # an endless loop is stopped after QBGEN_GENERATOR_TIMEOUT seconds.
    limit = settings().generator_timeout
    imports = bq.generator.imports() if bq.generator is not None else contextlib.nullcontext()
    try:
        with contextlib.redirect_stdout(sys.stderr), imports:
            return _limited(limit, fn, *args)
    except _Overtime as exc:
        file, line = _where(exc, bq)
        raise QuestionFailure(
            f"{bq.id}{_seed_note(seed)}: {what} did not finish within {limit:g} s (an endless loop?"
            " QBGEN_GENERATOR_TIMEOUT sets the limit)",
            file=file,
            line=line,
        ) from None
    except SystemExit as exc:
        raise QuestionFailure(
            f"{bq.id}{_seed_note(seed)}: {what} called sys.exit({exc.code!r}); a generator returns or raises",
            file=bq.generator.path if bq.generator else bq.path,
        ) from None
    except QbgenError as exc:
        if isinstance(exc, authoring.CheckFailed):
            raise QuestionFailure(
                f"{bq.id}{_seed_note(seed)}: check failed: {exc.message}",
                file=bq.generator.path if bq.generator else bq.path,
            ) from None
        raise
    except Exception as exc:  # bank code failing is the question's failure, located
        file, line = _where(exc, bq)
        raise QuestionFailure(
            f"{bq.id}{_seed_note(seed)}: {what} raised {type(exc).__name__}: {exc}",
            file=file,
            line=line,
        ) from None


def _seed_note(seed: int | None) -> str:
    return " (original values)" if seed is None else f" (seed {seed})"


def _finite(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list):
        return all(_finite(v) for v in value)
    if isinstance(value, dict):
        return all(_finite(v) for v in value.values())
    return True


@dataclass(frozen=True)
class Solved:
    """A question's draw: its params, what solve returned, and the declared mistakes."""

    params: dict[str, Any]
    solution: authoring.Solution
    mistakes: dict[str, dict[str, Any]]
    derived: dict[str, Any]  # what check re-derived on its own route, beyond the answers


def _mistakes(bq: BankQuestion, seed: int | None, params: Any) -> dict[str, dict[str, Any]]:
    # The values known wrong methods give, per answer: {answer key: {name: value}}.
    gen = bq.generator
    if gen is None or gen.mistakes is None:
        return {}
    found = _call(bq, "mistakes", seed, gen.mistakes, params)
    keys = {k for a in bq.question.all_answers() for k in KINDS[a.kind].keys(a)}
    if not isinstance(found, dict) or not all(isinstance(v, dict) for v in found.values()):
        raise QuestionFailure(
            f"{bq.id}: mistakes must return {{answer key: {{name: value}}}}, not {found!r:.60}", file=gen.path
        )
    unknown = sorted(set(found) - keys)
    if unknown:
        raise QuestionFailure(
            f"{bq.id}: mistakes names answers the question has not: {unknown}", file=gen.path
        )
    return {k: {str(n): authoring.plain(v) for n, v in names.items()} for k, names in found.items()}


def solve_instance(bq: BankQuestion, seed: int | None) -> Solved:
    """Draw (or pin) a question's params, solve and check them, and take its mistakes."""
    gen = bq.generator
    if gen is None:
        return Solved({}, authoring.Solution(answers={}), {}, {})
    if seed is None:
        params = bq.original_params()  # load_question checked they validate
        if params is None:
            params = _call(bq, "sample", 0, gen.sample, rng_for(0))
    else:
        params = _call(bq, "sample", seed, gen.sample, rng_for(seed))
    try:
        params = checked_params(gen, params)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        field = ".".join(str(k) for k in err["loc"])
        raise QuestionFailure(
            f"{bq.id}{_seed_note(seed)}: sample drew params its own Params model rejects: "
            f"{field}: {err['msg']}",
            file=gen.path,
        ) from None
    except Exception as exc:  # a validator of Params failing: bank code, located
        file, line = _where(exc, bq)
        raise QuestionFailure(
            f"{bq.id}{_seed_note(seed)}: Params raised {type(exc).__name__}: {exc}", file=file, line=line
        ) from None
    solution = _call(bq, "solve", seed, gen.solve, params)
    if not isinstance(solution, authoring.Solution):
        raise QuestionFailure(
            f"{bq.id}: solve must return qbgen.authoring.Solution, not {type(solution).__name__}",
            file=gen.path,
        )
    for key, value in solution.answers.items():
        if not _finite(value):
            raise QuestionFailure(
                f"{bq.id}{_seed_note(seed)}: answer {key!r} is not finite ({value!r})",
                file=gen.path,
            )
    parts = len(bq.question.parts)
    stray = sorted(n for n in solution.part_steps if not 1 <= n <= parts)
    if stray:
        have = f"it has {parts} part{'s' if parts != 1 else ''}" if parts else "it has no parts"
        raise QuestionFailure(
            f"{bq.id}: solve returns part_steps for part {stray[0]}, but {have} (numbered from 1)",
            file=gen.path,
        )
    for answer in bq.question.all_answers():
        for key in KINDS[answer.kind].keys(answer):
            if key not in solution.answers:
                raise QuestionFailure(
                    f"{bq.id}: the question file names answer {key!r}, which solve does not return",
                    file=gen.path,
                )
    derived = _call(bq, "check", seed, gen.check, params, solution)
    if derived is not None and not isinstance(derived, dict):
        raise QuestionFailure(
            f"{bq.id}: check must return None or {{name: value}} (what it re-derived), "
            f"not {type(derived).__name__}",
            file=gen.path,
        )
    return Solved(
        params.model_dump(mode="json"),
        solution,
        _mistakes(bq, seed, params),
        {str(k): authoring.plain(v) for k, v in (derived or {}).items()},
    )


@dataclass(frozen=True)
class Fragment:
    """A text field as one language rendered it: its LaTeX and the pictures it drew."""

    tex: str
    figures: tuple[str, ...]


class _Renderer:
    """Renders one question's text templates, in one language, with its params, givens and answers."""

    def __init__(
        self,
        bq: BankQuestion,
        params: dict[str, Any],
        sol: authoring.Solution,
        original: bool,
        language: str | None = None,
    ):
        self.bq = bq
        # `original`: the paper as set (--original), so a text can leave out what a new paper adds.
        self.exam_ctx = {"p": params, "g": sol.givens, "original": original}
        self.key_ctx = {**self.exam_ctx, "a": sol.answers}
        self.original = original
        # None: the bank's one language, as ever; else the paper asks for this language.
        self.language = language
        self.texts = bq.templates if language is None else bq.texts(language)
        self.fragments: dict[Loc, Fragment] = {}  # every field rendered, for the languages' proof

    def rendered(self, loc: Loc, key: bool = True) -> Rendered:
        """Render the text field at `loc`: trusted LaTeX, and whether it drew a figure."""
        if self.bq.templates.get(loc) is None:
            return Rendered(NoEscape(""), False)
        template = self.texts.get(loc)
        if template is None:
            source = self.bq.templates[loc]
            if isinstance(source, PlainText) and not source.text.strip():
                return Rendered(NoEscape(""), False)  # nothing to translate
            raise language_error(
                self.bq.doc,
                loc,
                self.language,
                f"no {self.language} text (the paper is in {', '.join(self.bq.languages())} "
                f"as the question gives it): write it as {{{self.bq.language}: ..., {self.language}: ...}}",
            )
        try:
            with collect_figures() as figures:
                text = template.render(self.key_ctx if key else self.exam_ctx).strip()
        except jinja2.UndefinedError as exc:
            hint = ""
            if not key and "'a' is undefined" in str(exc.message):
                hint = " (answers, `a`, may not appear in the exam's text)"
            raise self._error(loc, f"undefined in template: {exc.message}{hint}") from None
        except (TypeError, ValueError) as exc:
            raise self._error(loc, f"template: {exc}") from None
        self.fragments[loc] = Fragment(text, tuple(f.key for f in figures) + tuple(_GRAPHICS.findall(text)))
        return Rendered(NoEscape(text), bool(figures))

    def _error(self, loc: Loc, message: str) -> QbgenError:
        if self.language is None or self.language == self.bq.language:
            return self.bq.doc.error(loc, message)
        return language_error(self.bq.doc, loc, self.language, message)

    def __call__(self, loc: Loc, *, key: bool = True) -> NoEscape:
        return self.rendered(loc, key).tex


_GRAPHICS = re.compile(r"\\includegraphics\s*(?:\[[^]]*\])?\s*\{([^}]*)\}")


def _numbers(tex: str) -> list[str]:
    return [n.text.replace(" ", "") for n in printed_numbers(tex)]


def prove_same(
    bq: BankQuestion, first: tuple[str, dict[Loc, Fragment]], other: tuple[str, dict[Loc, Fragment]]
) -> None:
    """Refuse a translation that does not say what the first language says, field by field.

    Each text field as each language rendered it (one draw) must print the same numbers
    in the same order and the same pictures; the options, marks and answers are one
    object for every language, so their order cannot differ. The error names the file,
    the field's line, the field and the language.
    """
    (lang0, frags0), (lang, frags) = first, other
    for loc, frag0 in frags0.items():
        frag = frags.get(loc)
        if frag is None and not frag0.tex:
            continue  # an empty field (no key note) has nothing to translate
        if frag is None:
            raise language_error(bq.doc, loc, lang, f"no {lang} text where {lang0} has one")
        problem = _number_problem(_numbers(frag0.tex), _numbers(frag.tex), lang0)
        if problem is None and frag.figures != frag0.figures:
            problem = (
                f"draws {len(frag.figures)} picture(s) where {lang0} draws {len(frag0.figures)}"
                if len(frag.figures) != len(frag0.figures)
                else f"its pictures differ from {lang0}'s"
            )
        if problem is not None:
            raise language_error(bq.doc, loc, lang, problem)


def _number_problem(want: list[str], have: list[str], lang0: str) -> str | None:
    # Say the first difference of two sequences of printed numbers, or None.
    if want == have:
        return None
    count = f"has {len(have)} number{'s' if len(have) != 1 else ''} where {lang0} has {len(want)}"
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=want, b=have, autojunk=False).get_opcodes():
        if op == "delete":
            return f"{count} ({', '.join(want[i1:i2])} missing)"
        if op == "insert":
            return f"{count} ({', '.join(have[j1:j2])} extra)"
        if op == "replace":
            if sorted(want[i1:i2]) == sorted(have[j1:j2]) and i2 - i1 > 1:
                return f"prints {', '.join(have[j1:j2])} in another order than {lang0}"
            prefix = f"{count}: " if len(want) != len(have) else ""
            return f"{prefix}prints {', '.join(have[j1:j2])} where {lang0} prints {', '.join(want[i1:i2])}"
    return count


def _answers(
    r: _Renderer, answers: list[AnswerSpec], loc: Loc, values: Any, rng: Any, wrong: Any
) -> tuple[AnswerInstance, ...]:
    # Each answer's kind checks what solve returned for it and builds its instance.
    out = []
    for i, ans in in_view(answers, r.original):
        here = loc + (i,)

        def render(sub: Loc, key: bool, here: Loc = here) -> Rendered:
            return r.rendered(here + sub, key)

        ctx = InstanceContext(
            question_id=r.bq.id,
            file=str(r.bq.path),
            render=render,
            values=values,
            rng=rng,
            wrong=wrong,
            original=r.original,
        )
        inst = KINDS[ans.kind].instance(ans, ctx)
        out.append(inst if ans.asked else inst.model_copy(update={"asked": False}))
    return tuple(out)


def instantiate(
    bq: BankQuestion,
    number: str,
    seed: int | None,
    *,
    shuffle_options: bool = False,
    numbering: Numbering = DEFAULT,
    on_paper: bool = False,
    languages: Sequence[str] = (),
    layout: Layout = "parallel",
) -> QuestionInstance:
    """Build one question instance: params drawn from `seed` (None: the paper's values).

    `number` is the question's name; its parts are named by `numbering` after it.
    `languages` (primary first): its text in each, from the one draw, each translation
    proved to print what the primary prints (`prove_same`); (): the bank's one language.
    """
    solved = solve_instance(bq, seed)
    args = (bq, number, seed, solved, shuffle_options, numbering, on_paper)
    if not languages:
        return _instance(*args, None)[0]
    made = [_instance(*args, language) for language in languages]
    (first, frags0), rest = made[0], made[1:]
    for language, (_, frags) in zip(languages[1:], rest, strict=True):
        prove_same(bq, (languages[0], frags0), (language, frags))
    return first.model_copy(
        update={
            "translations": tuple(inst.model_copy(update={"layout": layout}) for inst, _ in rest),
            "layout": layout,
        }
    )


def _instance(
    bq: BankQuestion,
    number: str,
    seed: int | None,
    solved: Solved,
    shuffle_options: bool,
    numbering: Numbering,
    on_paper: bool,
    language: str | None,
) -> tuple[QuestionInstance, dict[Loc, Fragment]]:
    # The instance in one language (None: the bank's one), and the fragments it rendered.
    params, sol = solved.params, solved.solution
    original = seed is None
    view = "original" if original else "new"
    r = _Renderer(bq, params, sol, original, language)
    q = bq.question
    values = deep_freeze(sol.answers)
    wrong = deep_freeze(solved.mistakes)
    # drawn afresh per language: every language's options come in the one order
    opt_rng = rng_for(derive_seed(seed or 0, "options", bq.id)) if shuffle_options else None
    shown = q.steps_only in (None, view)
    parts = tuple(
        PartInstance(
            label=PART_LABELS[i],
            name=numbering.part_name(number, i + 1),
            marks=p.marks,
            prompt=r(("parts", i, "prompt"), key=False),
            answers=_answers(r, p.answers, ("parts", i, "answers"), values, opt_rng, wrong),
            rubric=tuple(
                RubricLine(marks=item.marks, text=r(("parts", i, "rubric", j, "text")), partial=item.partial)
                for j, item in in_view(p.rubric, original)
            ),
            steps=tuple(NoEscape(step) for step in sol.part_steps.get(i + 1, [])) if shown else (),
        )
        for i, p in enumerate(q.parts)
    )
    if on_paper:
        parts = tuple(
            part.model_copy(update={"space": answer_space(p.space, part.answers, part.marks)})
            for part, p in zip(parts, q.parts, strict=True)
        )
    own = _answers(r, q.answers, ("answers",), values, opt_rng, wrong)
    inst = QuestionInstance(
        number=number,
        id=q.id,
        title=q.title,
        kind=q.kind,
        marks=q.marks,
        sources=tuple(q.all_sources()),
        seed=seed,
        params=params,
        answers=values,
        data=sol.data,
        derived=deep_freeze(solved.derived),
        prompt=r(("prompt",), key=False),
        key_note=r(("key_note",)),
        steps=tuple(NoEscape(step) for step in sol.steps) if shown else (),
        own_answers=own,
        rubric=tuple(
            RubricLine(marks=item.marks, text=r(("rubric", j, "text")), partial=item.partial)
            for j, item in in_view(q.rubric, original)
        ),
        parts=parts,
        marks_on_parts=bool(parts) and q.marks_shown == "parts",
        space=answer_space(q.space, own, q.marks) if on_paper and not parts else None,
        on_paper=on_paper,
        language=language or "",
    )
    return inst, r.fragments


def answer_space(
    given: Space | str | None, answers: tuple[AnswerInstance, ...], marks: float
) -> Space | None:
    """The room an answer-on-paper paper leaves after an item (None: none beyond the answers).

    What the file says (`none`: nothing); else ruled lines by the marks, three a mark
    (at least four, at most thirty), where an asked answer needs room to write: a
    choice's options and a table's blank cells are their own room.
    """
    if isinstance(given, Space):
        return given
    if given == "none":
        return None
    if any(KINDS[a.kind].room(a) == "write" for a in answers if a.asked):
        return Space(shape="lines", size=str(min(30, max(4, round(3 * marks)))))
    return None


def _choose(loaded: LoadedSpec, bank: Bank, seed: int, variant: str) -> list[list[BankQuestion]]:
    spec = loaded.spec
    used = {bank.get(p.id).id for s in spec.sections for p in s.questions if p.id}
    chosen: list[list[BankQuestion]] = []
    rules: dict[str, int] = {}  # how many pools of each rule came before
    for si, section in enumerate(spec.sections):
        picked: list[BankQuestion] = []
        for pi, pick in enumerate(section.questions):
            if pick.id is not None:
                picked.append(bank.get(pick.id))
                continue
            combos = [c for c in loaded.pools[(si, pi)] if not any(q.id in used for q in c)]
            if not combos:
                raise loaded.doc.error(
                    ("sections", si, "questions", pi, "pool"),
                    "not enough questions left for this pool after the other picks",
                )
            # The pool's draw is keyed by its rule (and, for a rule given twice, which
            # of them it is), never by its place: a question added before it changes
            # no pick.
            rule = pick.pool.model_dump_json() if pick.pool else ""
            rules[rule] = rules.get(rule, 0) + 1
            key = f"pool:{rule}:{rules[rule]}"
            combo = combos[int(rng_for(derive_seed(seed, variant, key)).integers(len(combos)))]
            used.update(q.id for q in combo)
            picked.extend(combo)
        if section.shuffle:
            order = rng_for(derive_seed(seed, variant, f"section:{si}")).permutation(len(picked))
            picked = [picked[int(i)] for i in order]
        chosen.append(picked)
    return chosen


def assemble(
    loaded: LoadedSpec,
    bank: Bank,
    *,
    seed: int | None = None,
    variant: str = "",
    candidate: Candidate | None = None,
    original: bool = False,
) -> Exam:
    """Assemble one paper. `variant` (a label or a student id) keys every seed."""
    spec = loaded.spec
    exam_seed = spec.seed if seed is None else seed
    numbering = loaded.numbering
    languages, layout = paper_languages(loaded, candidate)
    sections = []
    n = 0
    names: dict[str, str] = {}  # every item's name, and the question that has it
    for si, (section, picked) in enumerate(
        zip(spec.sections, _choose(loaded, bank, exam_seed, variant), strict=True)
    ):
        questions = []
        for qi, bq in enumerate(picked):
            n += 1
            number = numbering.question_name(n=n, section=si + 1, q=qi + 1)
            qseed = None if original else derive_seed(exam_seed, variant, bq.id)
            inst = instantiate(
                bq,
                number,
                qseed,
                shuffle_options=spec.shuffle_options and not original,
                numbering=numbering,
                on_paper=spec.on_paper,
                languages=languages,
                layout=layout,
            )
            for name in inst.items():
                if name in names:
                    raise loaded.doc.error(
                        ("style",),
                        f"the style's numbering names two items {name!r} ({names[name]} and {bq.id});"
                        " its `numbering` must give every question and part its own name",
                    )
                names[name] = bq.id
            questions.append(inst)
        sections.append(
            SectionInstance(
                number=si + 1,
                title=section.title,
                marks=math.fsum(q.marks for q in questions),
                questions=tuple(questions),
            )
        )
    return Exam(
        spec_name=loaded.name,
        institute=spec.institute,
        course=spec.course,
        title=spec.title,
        date=spec.date,
        duration=spec.duration,
        max_marks=spec.max_marks,
        mark_step=spec.mark_step,
        instructions=tuple(spec.instructions),
        style=spec.style,
        templates=loaded.templates,
        packages=loaded.packages,
        seed=exam_seed,
        variant=variant,
        candidate=candidate,
        original=original,
        on_paper=spec.on_paper,
        languages=languages,
        layout=layout,
        sections=tuple(sections),
    )


def paper_languages(loaded: LoadedSpec, candidate: Candidate | None = None) -> tuple[tuple[str, ...], Layout]:
    """The languages of a paper, primary first, and how they are set.

    A `candidate` layout's paper is in its student's language (the roster's `language`,
    else the spec's first); () is the bank's one language, as a spec without `languages`.
    """
    spec = loaded.spec
    layout: Layout = spec.layout or "parallel"
    if layout == "candidate":
        if candidate is None:
            raise loaded.doc.error(
                ("layout",), "candidate: a paper per student in their language needs --roster"
            )
        language = candidate.language or spec.languages[0]
        if language not in spec.languages:
            raise InputError(
                f"student {candidate.id!r} reads {language!r}, not one of the spec's languages "
                f"({', '.join(spec.languages)})",
                field="language",
            )
        return (language,), layout
    return tuple(spec.languages), layout


def show_instance(bank: Bank, ref: str, seed: int | None) -> QuestionInstance:
    """Instantiate one question alone (`qbgen show`): `seed` None means the original."""
    bq = bank.get(ref)
    return instantiate(bq, "1", seed)


__all__ = ["assemble", "instantiate", "show_instance", "solve_instance"]
