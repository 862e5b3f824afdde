"""The marking app: a Starlette application over a build's `Work` and its `Store`.

Room: routes, the token check, and the pages (Jinja templates in `templates/`,
autoescaped: a student's name, id or a grader's comment is text in every page). It
listens on 127.0.0.1 only (the CLI binds it); every request needs the random token the
CLI printed (given once in the URL, then a cookie that only this site sends), and a
Host header naming this machine. Files are served from a fixed list (the app's script
and style, the vendored KaTeX) and from the crops `scan` cut, chosen by the server from
the build's own records: no path in a request reaches the disk.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import (
    FileResponse,
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
)
from starlette.routing import Route

from .. import scoring
from ..errors import QbgenError
from ..scoring import Unreadable, read_number
from ..writers.site import html_env
from .sheet import export_marks, import_marks, problem
from .shown import Renderer
from .store import Store, marked
from .work import Script, Unit, Work

HERE = Path(__file__).resolve().parent
SITE = HERE.parent / "site_assets"
COOKIE = "qbgen_mark"
MAX_FIELD = 2000  # characters of a comment or a field: more is not a grader typing
ASSETS = {
    "mark.js": (HERE / "assets" / "mark.js", "text/javascript"),
    "mark.css": (HERE / "assets" / "mark.css", "text/css"),
    "katex.min.js": (SITE / "katex" / "katex.min.js", "text/javascript"),
    "katex.min.css": (SITE / "katex" / "katex.min.css", "text/css"),
}
FONTS = {p.name: p for p in (SITE / "katex" / "fonts").glob("*.woff2")}


class Refused(Exception):
    """A request the app answers with 4xx and one line."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class Marking:
    """The app's state: the build's work, its store, what the pages show, the token."""

    work: Work
    store: Store
    renderer: Renderer
    token: str

    def unit(self, index: str) -> Unit:
        """The unit of a URL's index."""
        try:
            return self.work.units[int(index)]
        except (ValueError, IndexError):
            raise Refused("no such question", 404) from None

    def script(self, unit: Unit, index: str) -> Script:
        """The unit's script of a URL's index."""
        return unit.scripts[self.number(unit, index)]

    @staticmethod
    def number(unit: Unit, index: str) -> int:
        """A URL's script index, checked against the unit."""
        try:
            n = int(index)
        except ValueError:
            raise Refused("no such script", 404) from None
        if not 0 <= n < len(unit.scripts):
            raise Refused("no such script", 404)
        return n


def _env() -> jinja2.Environment:
    env = html_env(HERE / "templates")
    env.filters["num"] = lambda x: f"{x:.6g}"
    return env


def _grader(request: Request, form: Any) -> str:
    name = str(form.get("grader") or request.headers.get("x-grader") or "").strip()
    if len(name) > 80:
        raise Refused("a grader's name of more than 80 characters")
    return name or "grader"


async def _form(request: Request) -> Any:
    try:
        form = await request.form(max_files=0, max_fields=20)
    except Exception:  # malformed multipart or urlencoded body
        raise Refused("malformed form data") from None
    for value in form.values():
        if not isinstance(value, str):
            raise Refused("files are not taken here")
        if len(value) > MAX_FIELD:
            raise Refused(f"a field of more than {MAX_FIELD} characters")
    return form


def _number(text: str, what: str) -> float:
    try:
        return read_number(text) + 0.0
    except Unreadable:
        raise Refused(f"{what}: {text[:40]!r} is not a number") from None


def _state(m: Marking, unit: Unit, script: Script) -> dict[str, Any]:
    g = m.store.given(script.student, script.item, unit.key, script.most)
    done = marked(m.store.all_given(unit.key, unit.sheet))
    return {
        "mark": None if g.mark is None else f"{g.mark:g}",
        "free": None if g.free is None else f"{g.free:g}",
        "lines": sorted(g.lines),
        "comment": g.comment,
        "done": done,
        "total": len(unit.scripts),
        "most": f"{script.most:g}",
    }


def _verdicts(script: Script) -> list[dict[str, Any]]:
    # What the scan read of each machine-readable answer, and what the rule makes of it.
    out = []
    for a in script.answers:
        row: dict[str, Any] = {"ident": a.ident, "rule": a.rule, "read": a.response, "verdict": ""}
        if isinstance(a.rule, scoring.Options):
            row["letters"] = ", ".join(chr(65 + i) for i in a.rule.correct)
        if a.response:
            try:
                result = scoring.evaluate(a.rule, a.response)
                row["verdict"] = f"{result.verdict} ({result.credit:.0%})"
            except Unreadable as exc:
                row["verdict"] = str(exc)
        out.append(row)
    return out


def build_app(work: Work, store: Store, renderer: Renderer, token: str | None = None) -> Starlette:
    """The marking app over `work` and `store`."""
    m = Marking(work, store, renderer, token or secrets.token_urlsafe(18))
    env = _env()

    def page(template: str, **context: Any) -> HTMLResponse:
        html = env.get_template(template).render(folder=work.folder.name, **context)
        return HTMLResponse(html, headers={"Cache-Control": "no-store"})

    async def index(request: Request) -> Response:
        rows = []
        for n, unit in enumerate(work.units):
            done = marked(store.all_given(unit.key, unit.sheet))
            rows.append((n, unit, done))
        return page("index.html.j2", rows=rows, scanned=work.scanned)

    async def script_page(request: Request) -> Response:
        unit = m.unit(request.path_params["unit"])
        n = m.number(unit, request.path_params["script"])
        script = unit.scripts[n]
        # The first look at a unit converts its texts (pandoc, a second or two): off the
        # event loop, so other graders' clicks are answered meanwhile.
        shown = await run_in_threadpool(renderer.unit, unit)
        given = store.all_given(unit.key, unit.sheet)
        order = list(range(n + 1, len(unit.scripts))) + list(range(n))
        unmarked = next((i for i in order if given[unit.scripts[i].student].mark is None), None)
        rubric = [
            (line, text, marks, shown.lines[line - 1] if line <= len(shown.lines) else Markup(""))
            for line, text, marks in store.rubric(unit.key)
        ]
        return page(
            "script.html.j2",
            u=work.units.index(unit),
            unit=unit,
            n=n,
            unmarked=unmarked,
            script=script,
            state=_state(m, unit, script),
            rubric=rubric,
            shown=shown.scripts.get(script.student),
            verdicts=_verdicts(script),
            scanned=work.scanned,
        )

    async def table(request: Request) -> Response:
        # Every student of a unit in one table, a mark box each: marks typed from paper.
        u = request.path_params["unit"]
        unit = m.unit(u)
        given = store.all_given(unit.key, unit.sheet)
        rows = [(n, s, given[s.student], _verdicts(s)) for n, s in enumerate(unit.scripts)]
        done = marked(given)
        numbers = any(verdicts for *_, verdicts in rows)
        return page("table.html.j2", u=int(u), unit=unit, rows=rows, done=done, numbers=numbers)

    async def state(request: Request) -> Response:
        unit = m.unit(request.path_params["unit"])
        script = m.script(unit, request.path_params["script"])
        return JSONResponse(_state(m, unit, script))

    async def crop(request: Request) -> Response:
        unit = m.unit(request.path_params["unit"])
        script = m.script(unit, request.path_params["script"])
        if script.crop is None:
            raise Refused("no scan of this answer", 404)
        return FileResponse(script.crop, media_type="image/png", headers={"Cache-Control": "no-store"})

    async def choose(request: Request) -> Response:
        unit = m.unit(request.path_params["unit"])
        script = m.script(unit, request.path_params["script"])
        form = await _form(request)
        grader = _grader(request, form)
        lines = {n for n, _, _ in store.rubric(unit.key)}
        try:
            line = int(str(form.get("line", "")))
        except ValueError:
            raise Refused("line: not a rubric line's number") from None
        if line not in lines:
            raise Refused(f"line: the rubric has no line {line}")
        on = str(form.get("on", "1")) not in ("0", "false", "")
        store.choose(script.student, script.item, unit.key, line, on, grader)
        return JSONResponse(_state(m, unit, script))

    async def give(request: Request) -> Response:
        unit = m.unit(request.path_params["unit"])
        script = m.script(unit, request.path_params["script"])
        form = await _form(request)
        grader = _grader(request, form)
        text = str(form.get("mark", "")).strip()
        mark = None if text == "" else _number(text, "mark")
        if mark is not None:
            why = problem(script, mark)
            if why:
                raise Refused(f"mark: {why}", 422)
        store.give(script.student, script.item, unit.key, mark, grader)
        return JSONResponse(_state(m, unit, script))

    async def comment(request: Request) -> Response:
        unit = m.unit(request.path_params["unit"])
        script = m.script(unit, request.path_params["script"])
        form = await _form(request)
        store.comment(
            script.student, script.item, unit.key, str(form.get("comment", "")), _grader(request, form)
        )
        return JSONResponse(_state(m, unit, script))

    async def edit_rubric(request: Request) -> Response:
        unit = m.unit(request.path_params["unit"])
        form = await _form(request)
        grader = _grader(request, form)
        try:
            line = int(str(form.get("line", "")))
        except ValueError:
            raise Refused("line: not a rubric line's number") from None
        marks = _number(str(form.get("marks", "")).strip(), "marks")
        step = unit.scripts[0].step
        if marks < 0 or marks > unit.most + 1e-9:
            raise Refused(f"marks: {marks:g} is not between 0 and the item's {unit.most:g}", 422)
        if abs(marks / step - round(marks / step)) > 1e-9:
            raise Refused(f"marks: {marks:g} is not a whole number of steps of {step:g}", 422)
        try:
            count = store.edit_line(unit.key, line, marks, grader)
        except KeyError:
            raise Refused(f"line: the rubric has no line {line}") from None
        return JSONResponse({"line": line, "marks": f"{marks:g}", "remarked": count})

    async def export(request: Request) -> Response:
        await _form(request)
        try:
            import_marks(store, work)
            path = export_marks(store, work)
        except QbgenError as exc:
            raise Refused(str(exc), 409) from None
        return JSONResponse({"file": path.name, "students": len(work.students)})

    async def asset(request: Request) -> Response:
        name = request.path_params["name"]
        # The app's own files change only with qbgen: a page of the next student reuses them.
        keep = {"Cache-Control": "private, max-age=3600"}
        if name in ASSETS:
            path, kind = ASSETS[name]
            return FileResponse(path, media_type=kind, headers=keep)
        if name.startswith("fonts/") and name[6:] in FONTS:
            return FileResponse(FONTS[name[6:]], media_type="font/woff2", headers=keep)
        raise Refused("no such file", 404)

    routes = [
        Route("/", index),
        Route("/u/{unit}/table", table),
        Route("/u/{unit}/{script}", script_page),
        Route("/u/{unit}/{script}/crop.png", crop),
        Route("/u/{unit}/{script}/state", state),
        Route("/u/{unit}/{script}/line", choose, methods=["POST"]),
        Route("/u/{unit}/{script}/mark", give, methods=["POST"]),
        Route("/u/{unit}/{script}/comment", comment, methods=["POST"]),
        Route("/u/{unit}/rubric", edit_rubric, methods=["POST"]),
        Route("/export", export, methods=["POST"]),
        Route("/assets/{name:path}", asset),
    ]

    async def refused(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, Refused)
        return PlainTextResponse(f"error: {exc}\n", status_code=exc.status)

    async def not_found(request: Request, exc: Exception) -> Response:
        return PlainTextResponse("error: no such page\n", status_code=404)

    app = Starlette(
        routes=routes,
        middleware=[Middleware(_Guard, token=m.token)],
        exception_handlers={Refused: refused, 404: not_found, 405: not_found},
    )
    app.state.marking = m
    return app


class _Guard(BaseHTTPMiddleware):
    """Only this machine's browser with the token: Host checked, token then cookie."""

    def __init__(self, app: Any, token: str) -> None:
        super().__init__(app)
        self.token = token

    async def dispatch(
        self, request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        host = (request.headers.get("host") or "").rsplit(":", 1)[0]
        if host not in ("127.0.0.1", "localhost", "[::1]"):
            return PlainTextResponse("error: this app answers only on this machine\n", status_code=403)
        given = request.query_params.get("token")
        if given is not None:
            if not hmac.compare_digest(given.encode(), self.token.encode()):
                return PlainTextResponse("error: wrong token\n", status_code=403)
            # The token leaves the URL (and the history) for a cookie only this site gets.
            response = RedirectResponse(request.url.remove_query_params("token"), status_code=303)
            response.set_cookie(COOKIE, self.token, httponly=True, samesite="strict")
            return response
        cookie = request.cookies.get(COOKIE, "")
        if not hmac.compare_digest(cookie.encode(), self.token.encode()):
            return PlainTextResponse(
                "error: no token: open the address `qbgen mark` printed\n", status_code=403
            )
        return await call_next(request)


__all__ = ["build_app"]
