"""Stage 1: load a bank folder into a `Bank` (questions, generators, compiled text).

Room: reading `bank/**/*.yaml` (all but `exams/`, `templates/` and `bank.yaml`),
importing each question's generator by path (with the bank's own `_lib` package) and
checking its contract, compiling every text field's Jinja template so a syntax error
names the file and line. One run may read several bank folders into one `Bank`; an id
in two of them is an error naming both files. Imports errors, settings, models, kinds,
latex, resources, scripts, yamlfile, authoring. The bank is the registry: nothing
registers itself at import time.
"""

from __future__ import annotations

import ast
import contextlib
import functools
import hashlib
import importlib.machinery
import importlib.util
import inspect
import re
import shutil
import subprocess
import sys
import threading
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import jinja2
from pydantic import BaseModel, ValidationError

from . import authoring, bankindex
from .errors import InputError, QbgenError
from .kinds import KINDS
from .kinds.base import Loc
from .latex import make_env, text_template
from .models import TEXT_FIELDS, BankConfig, Package, Question
from .resources import bank_name, styles
from .scripts import LUA_HOOKS, unprintable, unprintable_message
from .settings import settings
from .yamlfile import YamlDoc, pydantic_error, read_yaml, validate_model

CONFIG = "bank.yaml"  # a bank's own settings, at its top
LIB = "_lib"  # a bank's shared generator code, imported as `_lib`


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
    lib: dict[str, ModuleType] = field(default_factory=dict, repr=False)  # its bank's `_lib` modules

    @contextlib.contextmanager
    def imports(self) -> Iterator[None]:
        """While running this generator's code, `_lib` is its bank's (an import inside `solve`)."""
        with _lib_modules(self.lib):
            yield


@dataclass(frozen=True)
class BankQuestion:
    """A loaded question: the validated model, where it came from, its templates."""

    question: Question
    doc: YamlDoc
    generator: Generator | None
    templates: dict[Loc, jinja2.Template | PlainText] = field(repr=False)
    language: str = "en"  # the language of `templates` (its bank's)
    # The text given in other languages (`text: {en: ..., hi: ...}`): language -> field -> template.
    translations: Mapping[str, dict[Loc, jinja2.Template | PlainText]] = field(
        default_factory=dict, repr=False
    )

    def languages(self) -> list[str]:
        """The languages its text is given in, its bank's first."""
        return [self.language, *sorted(self.translations)]

    def texts(self, language: str) -> dict[Loc, jinja2.Template | PlainText]:
        """Its text fields in `language` (the bank's: every field; another: those translated)."""
        return self.templates if language == self.language else self.translations.get(language, {})

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
        with self.generator.imports():  # a Params validator may use the bank's _lib
            return self.generator.Params.model_validate(self.question.original)


@dataclass(frozen=True)
class BankFolder:
    """One bank folder of a run: where it is, its name, its house styles and packages."""

    root: Path
    name: str  # `builtin` for the shipped bank, else bank.yaml's `name` or the folder's
    packages: tuple[Package, ...] = ()
    language: str = "en"  # the language of its plain text (bank.yaml's `language`)

    @property
    def templates(self) -> Path:
        """The folder of the bank's own house styles (`templates/<style>/paper.tex.j2`)."""
        return self.root / "templates"

    def styles(self) -> list[str]:
        """The bank's own house styles."""
        return styles(self.templates)

    def specs(self) -> list[Path]:
        """The bank's exam specs (`exams/*.yaml`)."""
        return sorted((self.root / "exams").glob("*.yaml"))

    def holds(self, path: Path) -> bool:
        """Whether `path` lies inside this bank folder."""
        return path.resolve().is_relative_to(self.root.resolve())


@dataclass(frozen=True)
class Bank:
    """Every question of a run's banks, by id, and the sources they answer for."""

    folders: tuple[BankFolder, ...]
    questions: Mapping[str, BankQuestion]  # by id, in bank order (a `_Kept` reads each when asked)
    sources: dict[str, str]  # "paper-b:7" -> question id

    @property
    def root(self) -> Path:
        """The first bank folder (where `qbgen new` writes, whose spec `build` takes by default)."""
        return self.folders[0].root

    @property
    def roots(self) -> tuple[Path, ...]:
        """Every bank folder of the run, in order."""
        return tuple(f.root for f in self.folders)

    @property
    def packages(self) -> tuple[Package, ...]:
        """Every folder's extra LaTeX packages, each once, in order, with all their options."""
        seen: dict[str, list[str]] = {}
        for folder in self.folders:
            for p in folder.packages:
                options = seen.setdefault(p.name, [])
                options += [o for o in p.options.split(",") if o.strip() and o not in options]
        return tuple(Package(name=name, options=",".join(options)) for name, options in seen.items())

    def folder_of(self, path: Path) -> BankFolder:
        """The bank folder holding `path` (a spec), else the first."""
        return next((f for f in self.folders if f.holds(path)), self.folders[0])

    def names(self) -> str:
        """The banks' names, for messages: `mybank, builtin`."""
        return ", ".join(f.name for f in self.folders)

    def get(self, ref: str, *, file: Path | None = None, line: int | None = None) -> BankQuestion:
        """Return the question with id (or source) `ref`; unknown is an `InputError`."""
        if ref in self.questions:
            return self.questions[ref]
        if ref in self.sources:
            return self.questions[self.sources[ref]]
        raise InputError(f"no question {ref!r} in {self.where()}", file=file, line=line)

    def where(self) -> str:
        """The bank, or the banks, for messages: `the bank ROOT`, `the banks mine, builtin`."""
        return f"the bank {self.root}" if len(self.folders) == 1 else f"the banks {self.names()}"


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


Templates = dict[Loc, jinja2.Template | PlainText]  # a question's text fields in one language, compiled


_JINJA_SPAN = re.compile(r"\\(?:VAR|BLOCK)\{[^}]*\}")
_BARE_PERCENT = re.compile(r"(?<!\\)%")


def _bare_percent(doc: YamlDoc, loc: Loc, source: str, language: str | None = None) -> None:
    # LaTeX reads a bare % as a comment and drops the rest of the line ("50% of the
    # marks" prints "50"): bank text writes \%. Jinja's own code (\VAR{x % 2}) is not text.
    for n, line in enumerate(source.splitlines(), 1):
        if _BARE_PERCENT.search(_JINJA_SPAN.sub("", line)):
            raise text_error(
                doc,
                loc,
                source,
                n,
                "a bare % starts a LaTeX comment and drops the rest of the line: write \\%",
                language,
            )


def _printable(doc: YamlDoc, loc: Loc, source: str, language: str | None = None) -> None:
    # A character no installed font can show (an emoji) is named with its line, not
    # left for LaTeX to fail on in a generated .tex; no text reaches Lua.
    hook = LUA_HOOKS.search(source)
    if hook:
        line = source[: hook.start()].count("\n") + 1
        message = f"{hook[0]!r} reaches Lua under LuaLaTeX; bank text may not run code (a generator can)"
        raise text_error(doc, loc, source, line, message, language)
    bad = unprintable(source)
    if bad:
        line = source[: source.index(bad[0])].count("\n") + 1
        raise text_error(doc, loc, source, line, unprintable_message(bad[0]), language)


def text_error(
    doc: YamlDoc, loc: Loc, source: str, line: int, message: str, language: str | None = None
) -> InputError:
    """The error of a text field at its `line` (1-based), placed in the question file.

    A block scalar's text starts on the line after its key, a one-line value is on the
    key's line. `language`: the field's text in that language (`text: {en: ..., hi: ...}`).
    """
    at = loc + (language,) if language else loc
    return InputError(
        message,
        file=doc.path,
        line=(doc.line_of(at) or 0) + (line if "\n" in source else 0),
        field=".".join(str(k) for k in loc) + (f" ({language})" if language else ""),
    )


def language_error(doc: YamlDoc, loc: Loc, language: str | None, message: str) -> InputError:
    """The one line of a text field in a language: `FILE:LINE: prompt (hi): message`."""
    return text_error(doc, loc, "", 0, message, language)


_LANGUAGE = re.compile(r"^[a-z]{2,3}$")


def split_languages(doc: YamlDoc, language: str) -> tuple[Any, dict[str, dict[Loc, str]]]:
    """The question file's data with each text field in the bank's `language`, and the others.

    A text field (`prompt`, `text`, `label`, ...) is a string, in the bank's language, or a
    mapping from language code to string (`text: {en: ..., hi: ...}`) that holds the bank's
    language. Returns the data as the model reads it and {language: {field: text}}.
    """
    others: dict[str, dict[Loc, str]] = {}

    def walk(value: Any, loc: Loc) -> Any:
        if isinstance(value, list):
            return [walk(v, loc + (i,)) for i, v in enumerate(value)]
        if not isinstance(value, dict):
            return value
        out = {}
        for key, item in value.items():
            if key == "original":  # the paper's parameter values, not text
                out[key] = item
            elif key in TEXT_FIELDS and isinstance(item, dict):
                out[key] = _one_language(doc, loc + (key,), item, language, others)
            else:
                out[key] = walk(item, loc + (key,))
        return out

    return walk(doc.data, ()), others


def _one_language(
    doc: YamlDoc, loc: Loc, texts: dict[Any, Any], language: str, others: dict[str, dict[Loc, str]]
) -> Any:
    for code, text in texts.items():
        if not isinstance(code, str) or not _LANGUAGE.match(code):
            raise doc.error(
                loc + (code,),
                f"{code!r} is not a language code (en, hi, ...): a text in several "
                "languages is a mapping such as {en: ..., hi: ...}",
            )
        if not isinstance(text, str):
            raise doc.error(loc + (code,), f"the {code} text is a string, not {type(text).__name__}")
    if language not in texts:
        raise doc.error(
            loc,
            f"no {language} text: a text in several languages gives the bank's language too "
            f"({language}; bank.yaml's `language` sets it)",
        )
    for code, text in texts.items():
        if code != language:
            others.setdefault(code, {})[loc] = text
    return texts[language]


def _compile(
    doc: YamlDoc,
    question: Question,
    others: dict[Loc, str] | None = None,
    language: str | None = None,
    vetted: bool = False,
) -> dict[Loc, jinja2.Template | PlainText]:
    # Every text field of the question, or (`others`) its text in another `language`;
    # `vetted`: text a whole load of the bank found sound (a bare %, an unprintable character).
    out: dict[Loc, jinja2.Template | PlainText] = {}
    fields = list(text_fields(question)) if others is None else list(others.items())
    for loc, source in fields:
        if not vetted:
            _bare_percent(doc, loc, source, language)
            _printable(doc, loc, source, language)
        if not any(mark in source for mark in _JINJA_MARKS):
            out[loc] = PlainText(source)
            continue
        try:
            out[loc] = text_template(_text_env(), source)
        except jinja2.TemplateSyntaxError as exc:
            raise text_error(
                doc, loc, source, exc.lineno or 1, f"template syntax: {exc.message}", language
            ) from None
    return out


def _bank_frame_line(exc: BaseException, path: Path) -> int | None:
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if Path(frame.filename).resolve() == path.resolve():
            return frame.lineno
    return None


@contextlib.contextmanager
def _lib_modules(lib: dict[str, ModuleType]) -> Iterator[None]:
    # `_lib` and its submodules stand in sys.modules only while one bank's code runs;
    # what was there before (another bank's) is put back after, so two never collide.
    def taken() -> dict[str, ModuleType]:
        return {
            k: sys.modules.pop(k) for k in [k for k in sys.modules if k == LIB or k.startswith(LIB + ".")]
        }

    if not lib and LIB not in sys.modules:  # no `_lib` anywhere (the usual bank): nothing to swap
        try:
            yield
        finally:
            if LIB in sys.modules:  # bank code made one after all (sys.modules is its to write)
                lib.update(taken())
        return
    theirs = taken()
    sys.modules.update(lib)
    try:
        yield
    finally:
        lib.update(taken())  # submodules imported meanwhile stay the bank's
        sys.modules.update(theirs)


def bank_lib(root: Path) -> dict[str, ModuleType]:
    """The modules of bank `root`'s `_lib` package, importable by its generators as `_lib`.

    Empty if the bank has none; its `__init__.py` is optional. Its files are bank code:
    an import error names the file and line like a generator's.
    """
    folder = root / LIB
    files = sorted(folder.rglob("*.py")) if folder.is_dir() else []
    # Keyed by the files' times too: `preview --watch` reloading the bank sees an edit.
    key = (folder.resolve(), tuple((str(f), f.stat().st_mtime_ns) for f in files))
    if key in _LIBS:
        return _LIBS[key]
    lib: dict[str, ModuleType] = {}
    if folder.is_dir():
        for path in files:
            _only_authoring(path)
        init = folder / "__init__.py"
        if init.is_file():
            spec = importlib.util.spec_from_file_location(LIB, init, submodule_search_locations=[str(folder)])
        else:
            spec = importlib.machinery.ModuleSpec(LIB, None, is_package=True)
            spec.submodule_search_locations = [str(folder)]
        assert spec is not None
        module = importlib.util.module_from_spec(spec)
        lib[LIB] = module
        with _lib_modules(lib):
            if spec.loader is not None:
                _exec(spec, module, init, folder)
    _LIBS[key] = lib
    return lib


_LIBS: dict[tuple[Path, tuple[tuple[str, int], ...]], dict[str, ModuleType]] = {}


def _exec(spec: importlib.machinery.ModuleSpec, module: ModuleType, path: Path, lib: Path | None) -> None:
    # Run bank code; its failure is the bank's, reported with the file and line at fault
    # (a line of the bank's `_lib` folder when the generator's import of it fails there).
    assert spec.loader is not None
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        file, line, message = path, _bank_frame_line(exc, path), str(exc)
        if isinstance(exc, SyntaxError) and exc.filename and Path(exc.filename).is_file():
            file, line, message = Path(exc.filename), exc.lineno, exc.msg or message
        else:
            inner = _deepest_frame_in(exc, lib) if lib is not None else None
            if inner is not None:
                file, line = inner
        what = "module" if lib is not None and path.is_relative_to(lib) else "generator"
        raise InputError(
            f"{what} failed to import: {type(exc).__name__}: {message}", file=file, line=line
        ) from None


def _deepest_frame_in(exc: BaseException, folder: Path) -> tuple[Path, int | None] | None:
    # The innermost frame of a traceback in `folder` (a bank's `_lib`), if any.
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if Path(frame.filename).is_relative_to(folder):
            return Path(frame.filename), frame.lineno
    return None


def _only_authoring(path: Path) -> None:
    # Bank code imports only qbgen.authoring from qbgen: the rest may change under it.
    try:
        tree = ast.parse(path.read_bytes(), filename=str(path))
    except (SyntaxError, ValueError):
        return  # importing it says what is wrong, with its line
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):  # `import qbgen` alone reaches only the API's name
            names = [a.name for a in node.names if a.name != "qbgen"]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module] if node.module != "qbgen" else [f"qbgen.{a.name}" for a in node.names]
        else:
            continue
        wrong = next((n for n in names if n.startswith("qbgen.") and n != "qbgen.authoring"), None)
        if wrong is not None:
            raise InputError(
                f"bank code imports {wrong}: a generator and its `_lib` import only "
                "qbgen.authoring from qbgen (`from qbgen.authoring import ...`)",
                file=path,
                line=node.lineno,
            )


def load_generator(path: Path, root: Path | None = None, *, vetted: bool = False) -> Generator:
    """Import a generator module by path and check it defines the contract.

    `root` is its bank folder: the bank's `_lib` is importable while the module runs.
    `vetted`: the file is as it was when a whole load of its bank read its imports
    (`load_bank`'s index), so they are not read again.
    """
    if not path.is_file():
        raise InputError("generator file not found", file=path)
    if not vetted:
        _only_authoring(path)
    lib = bank_lib(root) if root is not None else {}
    # Namespaced by the generator's folder: a second bank (or topic) with a module of
    # the same name never evicts the first's from sys.modules.
    folder = hashlib.sha1(str(path.parent.resolve()).encode()).hexdigest()[:12]
    name = f"qbgen_bank_{folder}.{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # pydantic resolves annotations through sys.modules
    try:
        with _lib_modules(lib):
            _exec(spec, module, path, root / LIB if root is not None else None)
    except InputError:
        sys.modules.pop(name, None)
        raise
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
    return Generator(path, module, params, module.sample, module.solve, module.check, mistakes, lib)


def load_question(
    path: Path, root: Path | None = None, language: str = "en", *, vetted: bool = False
) -> BankQuestion:
    """Load and check one question file (and its generator; `root`: its bank folder).

    `language`: the bank's, that of its plain text; `vetted`: as `load_generator`'s.
    """
    doc = read_yaml(path)
    if not isinstance(doc.data, dict):
        raise InputError("a question file holds a mapping of fields", file=path, line=1)
    data, others = split_languages(doc, language)
    question = validate_model(doc, Question, data)
    generator = None
    if question.generator:
        generator = load_generator(path.parent / question.generator, root, vetted=vetted)
        if question.original is not None:
            try:
                with generator.imports():
                    generator.Params.model_validate(question.original)
            except ValidationError as exc:
                raise pydantic_error(doc, exc, prefix=("original",)) from None
            except Exception as exc:  # a validator of Params failing: bank code, located
                line = _bank_frame_line(exc, generator.path)
                raise InputError(
                    f"Params rejects the original values: {type(exc).__name__}: {exc}",
                    file=generator.path if line else path,
                    line=line or doc.line_of(("original",)),
                ) from None
    elif any(KINDS[a.kind].keys(a) for a in question.all_answers()):
        raise doc.error(("generator",), "answers computed by key need a generator")
    translations: Mapping[str, Templates]
    if vetted:  # each language's text compiled when a paper first asks for it
        translations = _Translations(
            {
                code: functools.partial(_compile, doc, question, texts, code, True)
                for code, texts in others.items()
            }
        )
    else:
        translations = {code: _compile(doc, question, texts, code) for code, texts in sorted(others.items())}
    return BankQuestion(
        question, doc, generator, _compile(doc, question, vetted=vetted), language, translations
    )


class _Translations(Mapping[str, Templates]):
    """A question's text in its other languages, each compiled when first asked for."""

    def __init__(self, make: dict[str, Callable[[], Templates]]) -> None:
        self._make = dict(sorted(make.items()))
        self._made: dict[str, Templates] = {}

    def __getitem__(self, code: str) -> Templates:
        if code not in self._made:
            self._made[code] = self._make[code]()
        return self._made[code]

    def __iter__(self) -> Iterator[str]:
        return iter(self._make)

    def __len__(self) -> int:
        return len(self._make)


def question_files(root: Path) -> list[Path]:
    """Return the bank's question files in a stable order.

    Specs under `exams/` are not questions, nor house styles under `templates/`, nor the
    bank's `bank.yaml`; nor is anything hidden or private (a part of the path starting
    with `.` or `_`: `.github/workflows/`, `.venv/`, `_drafts/`, `_lib/`).
    """
    files = [
        p
        for p in root.rglob("*.yaml")
        if p.relative_to(root).parts[0] not in ("exams", "templates", CONFIG)
        and not any(part.startswith((".", "_")) for part in p.relative_to(root).parts)
    ]
    return sorted(files, key=lambda p: p.relative_to(root).as_posix())


def load_folder(root: Path) -> BankFolder:
    """Read a bank folder's `bank.yaml` (if any): its name and extra LaTeX packages."""
    path = root / CONFIG
    name = bank_name(root)
    if not path.is_file():
        return BankFolder(root, name)
    doc = read_yaml(path)
    if doc.data is None:
        return BankFolder(root, name)
    if not isinstance(doc.data, dict):
        raise InputError("bank.yaml holds a mapping of fields (name, packages)", file=path, line=1)
    config = validate_model(doc, BankConfig)
    packages = config.package_list()
    for i, package in enumerate(packages):
        if not _installed_package(package.name):
            raise doc.error(
                ("packages", i),
                f"no LaTeX package {package.name!r} is installed (kpsewhich {package.name}.sty finds "
                "nothing); install it (Debian: the texlive-* package that has it) or remove it",
            )
    return BankFolder(root, config.name or name, packages, config.language)


@cache
def _installed_package(name: str) -> bool:
    # kpsewhich is TeX's own file search: what it finds, pdflatex finds. No TeX here:
    # the package is taken on trust and typesetting says the rest.
    exe = shutil.which("kpsewhich")
    if exe is None:
        return True
    found = subprocess.run([exe, f"{name}.sty"], capture_output=True, text=True, check=False)
    return bool(found.stdout.strip())


def load_bank(roots: Path | Sequence[Path], *, broken: list[tuple[Path, QbgenError]] | None = None) -> Bank:
    """Load every question of the bank folder(s) `roots` into one bank.

    The first file that does not load raises its error; given `broken`, each such file
    is put there with its error instead, and the bank holds every other question
    (`qbgen validate` reports them all). One id (or source) in two folders is an error
    naming both files.

    Fast path: when the folders' files are as they were when they last loaded whole
    (`bankindex`), the bank knows every id and source from that index and reads a
    question's file only when it is asked for, so a build reads its spec's questions
    and no others. What a whole load would say is unchanged: any file that changed
    since, anywhere in the banks, means a whole load.
    """
    dirs = [roots] if isinstance(roots, Path) else list(roots)
    key = bankindex.fingerprint(dirs) if broken is None else ""
    rows = bankindex.read(dirs, key) if broken is None else None
    questions: dict[str, BankQuestion] = {}
    sources: dict[str, str] = {}
    folders = []
    home: dict[str, int] = {}  # question id -> its folder's index
    for root in dirs:
        try:
            folders.append(load_folder(root))
        except QbgenError as exc:
            if broken is None:
                raise
            broken.append((root / CONFIG, exc))
            folders.append(BankFolder(root, bank_name(root)))
        if rows is not None:
            continue
        for path in question_files(root):
            try:
                _add(path, root, questions, sources, folders[-1].language)
            except QbgenError as exc:
                if broken is None:
                    raise
                broken.append((path, exc))
        home.update((qid, len(folders) - 1) for qid in questions if qid not in home)
    if rows is not None:
        kept = _Kept({r["id"]: (Path(r["file"]), folders[r["folder"]]) for r in rows})
        return Bank(tuple(folders), kept, {src: r["id"] for r in rows for src in r["sources"]})
    bank = Bank(tuple(folders), questions, sources)
    if broken is None:  # every question loaded: the next run may read only those it needs
        bankindex.write(dirs, key, [{**row, "folder": home[row["id"]]} for row in index_rows(bank)])
    return bank


class _Kept(Mapping[str, BankQuestion]):
    """A bank's questions by id, in bank order, each read from its file when first asked for.

    Made from the index of a bank that loaded whole at these very files (`load_bank`).
    """

    def __init__(self, files: dict[str, tuple[Path, BankFolder]]) -> None:
        self._files = files
        self._loaded: dict[str, BankQuestion] = {}
        self._lock = threading.Lock()

    def __getitem__(self, qid: str) -> BankQuestion:
        with self._lock:
            bq = self._loaded.get(qid)
            if bq is None:
                path, folder = self._files[qid]  # its id is its file's name (_named_as_file)
                bq = _named_as_file(load_question(path, folder.root, folder.language, vetted=True))
                self._loaded[qid] = bq
            return bq

    def __iter__(self) -> Iterator[str]:
        return iter(self._files)

    def __len__(self) -> int:
        return len(self._files)

    def __contains__(self, qid: object) -> bool:
        return qid in self._files


def index_rows(bank: Bank) -> list[dict[str, Any]]:
    """Each question of `bank` as `qbgen list` shows it (and `bankindex` keeps it)."""
    return [
        {
            "id": bq.id,
            "title": bq.question.title,
            "topic": bq.question.topic,
            "tags": list(bq.question.tags),
            "kind": bq.question.kind,
            "marks": bq.question.marks,
            "parameterized": bq.generator is not None,
            "sources": list(bq.question.all_sources()),
            "file": str(bq.path),
        }
        for bq in bank.questions.values()
    ]


def _named_as_file(bq: BankQuestion) -> BankQuestion:
    # Specs, `show` and `new` all find a question by its file's name: its id is that name.
    if bq.id != bq.path.stem:
        raise InputError(
            f"the id {bq.id!r} differs from the file's name {bq.path.stem!r}; rename one to match",
            file=bq.path,
            line=bq.doc.line_of(("id",)),
            field="id",
        )
    return bq


def _add(
    path: Path, root: Path, questions: dict[str, BankQuestion], sources: dict[str, str], language: str = "en"
) -> None:
    # One question file into the bank: its id its file's, unique, and its sources too.
    bq = _named_as_file(load_question(path, root, language))
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
                f"source {src!r} is also claimed by question {sources[src]!r}"
                f" ({questions[sources[src]].path})",
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
    with gen.imports():
        return gen.Params.model_validate(authoring.plain(data))
