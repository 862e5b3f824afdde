"""The one error hierarchy of qbgen, and its one message format.

Room: exception classes (and `InputError.read_text`, the one reader of an input text
file, whose failures are these errors); imports nothing from qbgen. Every error a user can
cause is a `QbgenError` whose `str()` is one line, `FILE:LINE: FIELD: what is wrong`
(the parts that are known). The CLI prints it as `error: <line>` and exits with the
class's `exit_code`: 2 for bad input, 1 for a question that fails its checks or
does not typeset. Anything else that escapes is a bug and shows its traceback.
"""

from __future__ import annotations

from pathlib import Path


class QbgenError(Exception):
    """Base of every error qbgen reports as one line."""

    exit_code = 2

    def __init__(
        self,
        message: str,
        *,
        file: str | Path | None = None,
        line: int | None = None,
        field: str | None = None,
    ) -> None:
        self.message = " ".join(str(message).split())  # always one line
        self.file = str(file) if file is not None else None
        self.line = line
        self.field = field
        super().__init__(str(self))

    def __str__(self) -> str:
        where = ""
        if self.file:
            where = self.file + (f":{self.line}" if self.line else "") + ": "
        field = f"{self.field}: " if self.field else ""
        return f"{where}{field}{self.detail()}"

    def detail(self) -> str:
        """The message after the file, line and field."""
        return self.message


class InputError(QbgenError):
    """A bank file, spec, roster or option is wrong (exit 2)."""

    @classmethod
    def unwritable(cls, path: str | Path, exc: OSError, what: str, field: str | None = None) -> InputError:
        """The error of a file or folder qbgen cannot write: `cannot write WHAT: why`."""
        if isinstance(exc, FileExistsError | NotADirectoryError):
            why = "a file stands where a folder would be"
        else:
            why = exc.strerror or str(exc)
        return cls(f"cannot write {what}: {why}", file=path, field=field)

    @classmethod
    def read_text(cls, path: Path, save_as: str, *, what: str = "", encoding: str = "utf-8") -> str:
        """Read `path` as UTF-8 text (`encoding` may be utf-8-sig), or raise the one line.

        An unreadable file says `cannot read WHAT`; a file that is not UTF-8 names its
        first bad byte by line and column and says to save it as `save_as`.
        """
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise cls(f"cannot read{' ' + what if what else ''}: {exc.strerror}", file=path) from None
        return cls.decode(raw, path, save_as, encoding=encoding)

    @classmethod
    def decode(cls, raw: bytes, path: Path, save_as: str, *, encoding: str = "utf-8") -> str:
        """`raw`, the bytes of `path`, as UTF-8 text, or the one line `read_text` gives."""
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError as exc:
            line = raw[: exc.start].count(b"\n") + 1
            column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
            raise cls(
                f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at column {column}); save the {save_as}",
                file=path,
                line=line,
            ) from None


class EnvironmentProblem(QbgenError):
    """Something qbgen needs from the machine is missing or unusable (exit 2)."""


class QuestionFailure(QbgenError):
    """A question's generator or check fails, or its answer is not finite (exit 1)."""

    exit_code = 1


class TypesetError(QbgenError):
    """LaTeX could not typeset a document (exit 1).

    Where it failed is data, filled in by the stage that knows it: `question` (the id
    whose span in the .tex holds the error line; typeset), `document` (the index of the
    failing document among those typeset together; typeset_all), `paper` and `key` (the
    set or student, and whether it was the key; the LaTeX writer). The message is then
    `FILE:LINE: key A: question ID: LaTeX error: ...`.
    """

    exit_code = 1

    def __init__(
        self,
        message: str,
        *,
        file: str | Path | None = None,
        line: int | None = None,
        question: str | None = None,
        document: int | None = None,
        paper: str | None = None,
        key: bool | None = None,
    ) -> None:
        self.question = question
        self.document = document
        self.paper = paper
        self.key = key
        super().__init__(message, file=file, line=line)

    def detail(self) -> str:
        """The message, after the paper and the question it failed in (when known)."""
        where = ""
        if self.paper is not None:
            where += f"{'key' if self.key else 'paper'} {self.paper}: "
        if self.question is not None:
            where += f"question {self.question}: "
        return where + self.message

    def located(self, **fields: object) -> TypesetError:
        """Return a copy with some of file, line, question, document, paper, key replaced."""
        now: dict[str, object] = {
            "file": self.file,
            "line": self.line,
            "question": self.question,
            "document": self.document,
            "paper": self.paper,
            "key": self.key,
        }
        now.update(fields)
        return TypesetError(self.message, **now)  # type: ignore[arg-type]
