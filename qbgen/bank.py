"""Stage 1: load a bank folder into a `Bank` (questions, generators, compiled text).

Room: reading `bank/**/*.yaml` (all but `exams/`), importing each question's generator
by path and checking its contract, compiling every text field's Jinja template so a
syntax error names the file and line. Imports errors, settings, models, kinds, latex,
yamlfile, authoring. The bank is the registry: nothing registers itself at import time.
"""

from __future__ import annotations

import hashlib
import importlib.util
import inspect
import re
import sys
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import jinja2
from pydantic import BaseModel, ValidationError

from . import authoring
from .errors import InputError, QbgenError
from .kinds import KINDS
from .kinds.base import Loc
from .latex import make_env, text_template
from .models import Question
from .scripts import LUA_HOOKS, unprintable, unprintable_message
from .settings import settings
from .yamlfile import YamlDoc, pydantic_error, read_yaml, validate_model

TEXT_FIELDS = {"prompt", "text", "label", "explanation", "caption", "key_note"}


@dataclass(frozen=True)
class Generator:
    """A question's generator module, its four names and the optional `mistakes`."""

    path: Path
    module: ModuleType
    Params: type[BaseModel]
    sample: Callable[..., Any]
    solve: Callable[..., Any]
    check: Callable[..., Any]
    mistakes: Callable[..., Any] | None = None  # optional: values known wrong methods give


@dataclass(frozen=True)
class BankQuestion:
    """A loaded question: the validated model, where it came from, its templates."""

    question: Question
    doc: YamlDoc
    generator: Generator | None
    templates: dict[Loc, jinja2.Template | PlainText] = field(repr=False)

    @property
    def id(self) -> str:
        """The question's bank id."""
        return self.question.id

    @property
    def path(self) -> Path:
        """The question file."""
        return self.doc.path

    def original_params(self) -> BaseModel | None:
        """Return the pinned paper values as `Params`, or None."""
        if self.generator is None or self.question.original is None:
            return None
        return self.generator.Params.model_validate(self.question.original)


@dataclass(frozen=True)
class Bank:
    """Every question of a bank, by id, and the sources they answer for."""

    root: Path
    questions: dict[str, BankQuestion]
    sources: dict[str, str]  # "paper-b:7" -> question id

    def get(self, ref: str, *, file: Path | None = None, line: int | None = None) -> BankQuestion:
        """Return the question with id (or source) `ref`; unknown is an `InputError`."""
        if ref in self.questions:
            return self.questions[ref]
        if ref in self.sources:
            return self.questions[self.sources[ref]]
        raise InputError(f"no question {ref!r} in the bank {self.root}", file=file, line=line)


def text_fields(question: Question) -> Iterator[tuple[Loc, str]]:
    """Yield (location, template source) for every text field of a question."""

    def walk(value: Any, loc: Loc) -> Iterator[tuple[Loc, str]]:
        if isinstance(value, BaseModel):
            for name in type(value).model_fields:
                item = getattr(value, name)
                if isinstance(item, str) and name in TEXT_FIELDS:
                    yield loc + (name,), item
                elif isinstance(item, BaseModel | list):
                    yield from walk(item, loc + (name,))
        elif isinstance(value, list):
            for i, item in enumerate(value):
                yield from walk(item, loc + (i,))

    yield from walk(question, ())


@cache
def _text_env() -> jinja2.Environment:
    # Question text compiles through a cache of compiled templates (settings' cache_dir).
    return make_env(cache=settings().cache_dir / "jinja")


_JINJA_MARKS = (r"\VAR{", r"\BLOCK{", r"\#{")


class PlainText:
    """A text field with no Jinja in it: rendering it is the identity (and compiling free)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def render(self, *args: Any, **kwargs: Any) -> str:
        """Return the text as written."""
        return self.text


_JINJA_SPAN = re.compile(r"\\(?:VAR|BLOCK)\{[^}]*\}")
_BARE_PERCENT = re.compile(r"(?<!\\)%")


def _bare_percent(doc: YamlDoc, loc: Loc, source: str) -> None:
    # LaTeX reads a bare % as a comment and drops the rest of the line ("50% of the
    # marks" prints "50"): bank text writes \%. Jinja's own code (\VAR{x % 2}) is not text.
    for n, line in enumerate(source.splitlines(), 1):
        if _BARE_PERCENT.search(_JINJA_SPAN.sub("", line)):
            raise _text_error(
                doc,
                loc,
                source,
                n,
                "a bare % starts a LaTeX comment and drops the rest of the line: write \\%",
            )


def _printable(doc: YamlDoc, loc: Loc, source: str) -> None:
    # A character no installed font can show (an emoji) is named with its line, not
    # left for LaTeX to fail on in a generated .tex; no text reaches Lua.
    hook = LUA_HOOKS.search(source)
    if hook:
        line = source[: hook.start()].count("\n") + 1
        message = f"{hook[0]!r} reaches Lua under LuaLaTeX; bank text may not run code (a generator can)"
        raise _text_error(doc, loc, source, line, message)
    bad = unprintable(source)
    if bad:
        line = source[: source.index(bad[0])].count("\n") + 1
        raise _text_error(doc, loc, source, line, unprintable_message(bad[0]))


def _text_error(doc: YamlDoc, loc: Loc, source: str, line: int, message: str) -> InputError:
    # The error of a text field at its `line` (1-based): a block scalar's text starts on
    # the line after its key, a one-line value is on the key's line.
    return InputError(
        message,
        file=doc.path,
        line=(doc.line_of(loc) or 0) + (line if "\n" in source else 0),
        field=".".join(str(k) for k in loc),
    )


def _compile(doc: YamlDoc, question: Question) -> dict[Loc, jinja2.Template | PlainText]:
    out: dict[Loc, jinja2.Template | PlainText] = {}
    for loc, source in text_fields(question):
        _bare_percent(doc, loc, source)
        _printable(doc, loc, source)
        if not any(mark in source for mark in _JINJA_MARKS):
            out[loc] = PlainText(source)
            continue
        try:
            out[loc] = text_template(_text_env(), source)
        except jinja2.TemplateSyntaxError as exc:
            raise _text_error(doc, loc, source, exc.lineno or 1, f"template syntax: {exc.message}") from None
    return out


def _bank_frame_line(exc: BaseException, path: Path) -> int | None:
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if Path(frame.filename).resolve() == path.resolve():
            return frame.lineno
    return None


def load_generator(path: Path) -> Generator:
    """Import a generator module by path and check it defines the contract."""
    if not path.is_file():
        raise InputError("generator file not found", file=path)
    # Namespaced by the generator's folder: a second bank (or topic) with a module of
    # the same name never evicts the first's from sys.modules.
    folder = hashlib.sha1(str(path.parent.resolve()).encode()).hexdigest()[:12]
    name = f"qbgen_bank_{folder}.{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # pydantic resolves annotations through sys.modules
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # bank code: report it as the bank's fault, with its line
        sys.modules.pop(name, None)
        line = _bank_frame_line(exc, path)
        message = str(exc)
        if isinstance(exc, SyntaxError) and exc.filename and Path(exc.filename).resolve() == path.resolve():
            line, message = exc.lineno, exc.msg  # compile errors have no frame in the file
        raise InputError(
            f"generator failed to import: {type(exc).__name__}: {message}", file=path, line=line
        ) from None
    missing = [n for n in ("Params", "sample", "solve", "check") if not hasattr(module, n)]
    if missing:
        raise InputError(f"generator does not define {', '.join(missing)}", file=path)
    params = module.Params
    if not (inspect.isclass(params) and issubclass(params, BaseModel)):
        raise InputError("Params must subclass qbgen.authoring.Params", file=path)
    for fn in ("sample", "solve", "check"):
        if not callable(getattr(module, fn)):
            raise InputError(f"{fn} is not a function", file=path)
    mistakes = getattr(module, "mistakes", None)
    if mistakes is not None and not callable(mistakes):
        raise InputError("mistakes is not a function", file=path)
    return Generator(path, module, params, module.sample, module.solve, module.check, mistakes)


def load_question(path: Path) -> BankQuestion:
    """Load and check one question file (and its generator)."""
    doc = read_yaml(path)
    if not isinstance(doc.data, dict):
        raise InputError("a question file holds a mapping of fields", file=path, line=1)
    question = validate_model(doc, Question)
    generator = None
    if question.generator:
        generator = load_generator(path.parent / question.generator)
        if question.original is not None:
            try:
                generator.Params.model_validate(question.original)
            except ValidationError as exc:
                raise pydantic_error(doc, exc, prefix=("original",)) from None
    elif any(KINDS[a.kind].keys(a) for a in question.all_answers()):
        raise doc.error(("generator",), "answers computed by key need a generator")
    return BankQuestion(question, doc, generator, _compile(doc, question))


def question_files(root: Path) -> list[Path]:
    """Return the bank's question files in a stable order.

    Specs under `exams/` are not questions; nor is anything hidden or private (a part
    of the path starting with `.` or `_`: `.github/workflows/`, `.venv/`, `_drafts/`).
    """
    files = [
        p
        for p in root.rglob("*.yaml")
        if p.relative_to(root).parts[0] != "exams"
        and not any(part.startswith((".", "_")) for part in p.relative_to(root).parts)
    ]
    return sorted(files, key=lambda p: p.relative_to(root).as_posix())


def load_bank(root: Path, *, broken: list[tuple[Path, QbgenError]] | None = None) -> Bank:
    """Load every question of the bank folder `root`.

    The first file that does not load raises its error; given `broken`, each such file
    is put there with its error instead, and the bank holds every other question
    (`qbgen validate` reports them all).
    """
    questions: dict[str, BankQuestion] = {}
    sources: dict[str, str] = {}
    for path in question_files(root):
        try:
            _add(path, questions, sources)
        except QbgenError as exc:
            if broken is None:
                raise
            broken.append((path, exc))
    return Bank(root, questions, sources)


def _add(path: Path, questions: dict[str, BankQuestion], sources: dict[str, str]) -> None:
    # One question file into the bank: its id its file's, unique, and its sources too.
    bq = load_question(path)
    if bq.id != path.stem:  # specs, `show` and `new` all find a question by its file's name
        raise InputError(
            f"the id {bq.id!r} differs from the file's name {path.stem!r}; rename one to match",
            file=path,
            line=bq.doc.line_of(("id",)),
            field="id",
        )
    if bq.id in questions:
        other = questions[bq.id]
        raise InputError(
            f"question id {bq.id!r} is also used by {other.path}",
            file=path,
            line=bq.doc.line_of(("id",)),
            field="id",
        )
    for src in bq.question.all_sources():
        if src in sources:
            raise InputError(
                f"source {src!r} is also claimed by question {sources[src]!r}",
                file=path,
                line=bq.doc.line_of(("sources",)),
                field="sources",
            )
    questions[bq.id] = bq
    sources.update((src, bq.id) for src in bq.question.all_sources())


# A generator's draws are validated against its own model: `sample` returning params
# its Params rejects is a question failure, not a silent out-of-range paper.
def checked_params(gen: Generator, value: Any) -> BaseModel:
    """Return `value` re-validated through the generator's own `Params` model."""
    data = value.model_dump() if isinstance(value, BaseModel) else value
    return gen.Params.model_validate(authoring.plain(data))
