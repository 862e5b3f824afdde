"""Read YAML files with the line of every node, and turn Pydantic errors into one line.

Room: YAML parsing and the mapping of a Pydantic error location (a tuple of keys and
indexes) to the line of the YAML node it names. Imports only `errors`.
"""

from __future__ import annotations

import difflib
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any, TypeVar, get_args

import yaml
from pydantic import BaseModel, ValidationError

from .errors import InputError

M = TypeVar("M", bound=BaseModel)

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class YamlDoc:
    """A parsed YAML file: its plain data and its node tree (for line numbers)."""

    def __init__(self, path: Path, data: Any, node: yaml.Node | None) -> None:
        self.path = path
        self.data = data
        self.node = node

    def line_of(self, loc: tuple[Any, ...]) -> int | None:
        """Return the 1-based line of the node at `loc`, or of its nearest ancestor."""
        node = self.node
        line = node.start_mark.line + 1 if node is not None else None
        for key in loc:
            child = None
            if isinstance(node, yaml.MappingNode):
                for k, v in node.value:
                    if k.value == key:
                        child = v
                        line = k.start_mark.line + 1
                        break
            elif isinstance(node, yaml.SequenceNode) and isinstance(key, int):
                if 0 <= key < len(node.value):
                    child = node.value[key]
                    line = child.start_mark.line + 1
            if child is None:
                break
            node = child
        return line

    def raw_of(self, loc: tuple[Any, ...]) -> str | None:
        """The source text of the scalar at `loc` (`1:30`, not the 90 YAML made of it)."""
        node = self.node
        for key in loc:
            if isinstance(node, yaml.MappingNode):
                node = next((v for k, v in node.value if k.value == key), None)
            elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and 0 <= key < len(node.value):
                node = node.value[key]
            else:
                return None
        return node.value if isinstance(node, yaml.ScalarNode) else None

    def error(self, loc: tuple[Any, ...], message: str) -> InputError:
        """Build the one-line error for a field of this file."""
        return InputError(message, file=self.path, line=self.line_of(loc), field=dotted(loc))


def dotted(loc: tuple[Any, ...]) -> str | None:
    """Render a location tuple as `parts[1].marks`."""
    out = ""
    for key in loc:
        if isinstance(key, int):
            out += f"[{key}]"
        else:
            out += ("." if out else "") + str(key)
    return out or None


MAX_DEPTH = 64  # a bank file nests a few levels; deeper is a mistake or an attack
MAX_NODES = 100_000  # the document's size with every alias expanded ("billion laughs")


def _check_tree(root: yaml.Node | None, path: Path) -> None:
    """Refuse what PyYAML takes silently or chokes on.

    Equal keys (it keeps the last), a key that is not a plain value (`? [a, b]`),
    nesting deeper than MAX_DEPTH, and aliases that expand past MAX_NODES nodes (every
    later stage walks the expansion). Each node is visited once, so a file of aliases
    costs what its text does.
    """
    sizes: dict[int, int] = {}
    # An explicit stack, not recursion: a deep file must not reach Python's limit first.
    stack: list[tuple[yaml.Node, int, bool]] = [(root, 1, False)] if root is not None else []
    while stack:
        node, depth, done = stack.pop()
        if done:
            children = _children(node)
            sizes[id(node)] = 1 + sum(sizes[id(c)] for c in children)
            if sizes[id(node)] > MAX_NODES:
                raise InputError(
                    f"its aliases expand to more than {MAX_NODES:,} values (an anchor used over and over)",
                    file=path,
                    line=node.start_mark.line + 1,
                )
            continue
        if id(node) in sizes:
            continue  # an alias of a node already checked
        if depth > MAX_DEPTH:
            raise InputError(
                f"nested more than {MAX_DEPTH} levels deep", file=path, line=node.start_mark.line + 1
            )
        if isinstance(node, yaml.MappingNode):
            seen: dict[str, int] = {}
            for k, _ in node.value:
                line = k.start_mark.line + 1
                if not isinstance(k, yaml.ScalarNode):
                    what = "list" if isinstance(k, yaml.SequenceNode) else "mapping"
                    raise InputError(f"a key must be a plain name, not a {what}", file=path, line=line)
                if k.value in seen:
                    raise InputError(
                        f"duplicate key {k.value!r} (first on line {seen[k.value]})", file=path, line=line
                    )
                seen[k.value] = line
        stack.append((node, depth, True))
        stack.extend((c, depth + 1, False) for c in _children(node) if id(c) not in sizes)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [v for _, v in node.value]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def read_yaml(path: Path, *, text: str | None = None) -> YamlDoc:
    """Parse one YAML file; a syntax error or unreadable file is an `InputError`."""
    if text is None:
        text = InputError.read_text(path, "file as UTF-8")
    try:
        # One parse: the node tree (lines, duplicate keys), then the data built from it.
        loader = _Loader(text)
        try:
            node = loader.get_single_node()
            _check_tree(node, path)
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        if exc.context and exc.context_mark and exc.problem_mark:
            if exc.context_mark.line != exc.problem_mark.line:
                problem += f" ({exc.context} on line {exc.context_mark.line + 1})"
        lines = text.splitlines()
        if mark is not None and mark.line < len(lines) and "\t" in lines[mark.line]:
            problem += " (a tab: YAML indents with spaces, never tabs)"
        raise InputError(f"YAML syntax: {problem}", file=path, line=mark.line + 1 if mark else None) from None
    except yaml.YAMLError as exc:
        raise InputError(f"YAML syntax: {exc}", file=path) from None
    return YamlDoc(path, data, node)


def validate_model(doc: YamlDoc, model: type[M], data: Any = None) -> M:
    """Validate `doc` (or `data` from it) against `model`; the first error is one line."""
    try:
        return model.model_validate(doc.data if data is None else data)
    except ValidationError as exc:
        raise pydantic_error(doc, exc, model=model) from None


@cache
def _vocabulary(model: type[BaseModel]) -> frozenset[str]:
    # Every field name (and alias) of `model` and of the models its fields hold: what a
    # misspelt key is most likely meant to be.
    names: set[str] = set()
    seen: set[type] = set()
    todo: list[Any] = [model]
    while todo:
        t = todo.pop()
        if isinstance(t, type) and issubclass(t, BaseModel):
            if t in seen:
                continue
            seen.add(t)
            for name, f in t.model_fields.items():
                names.update(n for n in (name, f.alias) if n)
                todo.append(f.annotation)
        else:
            todo.extend(get_args(t))
    return frozenset(names)


_DERIVED = {("marks",), ("kind",)}  # fields a question file may leave to its parts, scheme, answers


def pydantic_error(
    doc: YamlDoc, exc: ValidationError, prefix: tuple = (), *, model: type[BaseModel] | None = None
) -> InputError:
    """Turn the first error of a Pydantic `ValidationError` into a located `InputError`."""
    errors = exc.errors(include_url=False)
    # A misspelt field shows as "unknown" and as "missing": report the typo, with a guess.
    extra = [e for e in errors if e["type"] == "extra_forbidden"]
    # A derived field (a question's marks, its kind) is missing because what it comes
    # from is wrong: report that instead.
    cause = [e for e in errors if not (e["type"] == "missing" and e["loc"][-1:] in _DERIVED)]
    err = extra[0] if extra else (cause or errors)[0]
    guess = ""
    if extra:
        parent = err["loc"][:-1]
        missing = [str(e["loc"][-1]) for e in errors if e["type"] == "missing" and e["loc"][:-1] == parent]
        close = difflib.get_close_matches(str(err["loc"][-1]), missing, n=1)
        if not close and model is not None:  # not a required one: any field of the file's kind
            close = difflib.get_close_matches(str(err["loc"][-1]), sorted(_vocabulary(model)), n=1)
        guess = f" (did you mean {close[0]!r}?)" if close else ""
    loc = _file_loc(doc.data, prefix + tuple(err["loc"]))
    msg = err["msg"]
    if err["type"] == "extra_forbidden":
        msg = "unknown field" + guess
    elif err["type"] == "missing" and err["loc"][-1:] in _DERIVED:
        msg = (
            "missing, and nothing to derive it from: give it, or the marking scheme and answers it comes from"
        )
    elif err["type"] == "missing":
        msg = "required field missing"
    elif err["type"] == "string_type" and _unquoted(doc, loc, err.get("input")):
        raw = doc.raw_of(loc)
        what = (
            "a date" if isinstance(err.get("input"), date) else f"the number {err.get('input')!r} (base 60)"
        )
        return doc.error(loc, f'YAML reads {raw} as {what}, not text: write it in quotes, "{raw}"')
    elif msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    elif msg.startswith("Assertion failed, "):
        msg = msg[len("Assertion failed, ") :]
    # Model-level checks name their field first ("rubric: adds up to ..."): locate it.
    head, sep, rest = msg.partition(": ")
    if sep and head.replace("_", "").isalpha() and _has(doc.data, loc + (head,)):
        loc, msg = loc + (head,), rest
    if "input" in err and err["type"] not in ("missing", "extra_forbidden") and _short(err["input"]):
        msg += f" (got {err['input']!r})"
    return doc.error(loc, msg)


def _unquoted(doc: YamlDoc, loc: tuple[Any, ...], value: Any) -> bool:
    # Text YAML 1.1 turned into something else: a date (2026-03-01), or a time written
    # 1:30 that became the number 90 (sexagesimal).
    raw = doc.raw_of(loc)
    if raw is None:
        return False
    if isinstance(value, date):
        return True
    return isinstance(value, int | float) and not isinstance(value, bool) and ":" in raw


def _has(data: Any, loc: tuple[Any, ...]) -> bool:
    for key in loc:
        if isinstance(data, dict) and key in data:
            data = data[key]
        elif isinstance(data, list) and isinstance(key, int) and 0 <= key < len(data):
            data = data[key]
        else:
            return False
    return True


def _file_loc(data: Any, loc: tuple[Any, ...]) -> tuple[Any, ...]:
    # Pydantic puts a tagged union's tag into the location right after the item it
    # tells apart ("answers.0.numeric.key"), and a validator's name too: neither is a
    # key of the file. A tag is dropped by its place (it equals the `kind` of the item
    # just reached), never by its value: "rubric.0.text" keeps its `text`.
    out: list[Any] = []
    node = data
    for k in loc:
        if str(k).startswith("function-"):
            continue
        if isinstance(node, dict) and node.get(_TAG) == k and out and isinstance(out[-1], int):
            out.append(_SKIP)
            continue
        out.append(k)
        node = _child(node, k)
    return tuple(k for k in out if k is not _SKIP)


_TAG = "kind"  # the discriminator field of every tagged union read from files
_SKIP = object()


def _child(node: Any, key: Any) -> Any:
    if isinstance(node, dict):
        return node.get(key)
    if isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node):
        return node[key]
    return None


def _short(value: Any) -> bool:
    return isinstance(value, str | int | float | bool) and len(repr(value)) <= 60
