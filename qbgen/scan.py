"""Stage 8: place scanned pages with their students and cut every answer region out.

Room: reading scans (PDFs or images, any order) of an on-paper build's papers. Each page
is decoded (its QR code, with zxing-cpp), registered (the code's corners give a first
homography, the four corner marks refine it: OpenCV), placed with its paper and page
from the manifests, and every room to answer on it is cut, straightened, into a PNG.
Pages that cannot be placed (no code, another build's, a duplicate) are listed with a
thumbnail, never dropped or guessed; every page a paper lacks is reported missing.
Output goes to `BUILD/scans/`, whole or not at all, with `pages.csv` (docs/SHEETS.md);
a second run adds pages to what is there. Imports errors, publish and
writers.paperpages.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import os
import shutil
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import InputError
from .publish import publish, staging
from .writers.paperpages import INSET, MARK, QR_SIZE, qr_box, read_code
from .writers.sheets import csv_text, response_column

SCANS = "scans"
PAGES = "pages.csv"
MISSING = "missing.csv"
DPI = 200  # a PDF's pages are rendered at this resolution
CROP_SCALE = 2.0  # pixels per PDF point of a cut region (144 dpi)
CROP_MARGIN = 8.0  # points around a region: writing runs over the lines' ends
BUBBLE_SCALE = 4.0  # pixels a point, to read a bubble (a 13 pt circle: 52 pixels)
FILLED, EMPTY = 0.6, 0.15  # darkness inside a bubble: filled above, empty below, else faint
RESPONSES = "responses.csv"  # the bubbles read, as the build's responses.csv has them
BUBBLES = "bubbles.csv"  # each choice's bubbles as read: read, blank, several, faint
PAGE_SCALE = 100 / 72  # a placed page is kept at 100 dpi, straightened
READ = ".read"  # in the staging folder: what each page's worker wrote, before the merge
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp"}
COLUMNS = ["file", "page", "student", "paper_page", "rotation", "status"]


@dataclass(frozen=True)
class Paper:
    """One paper of the build as its manifest has it."""

    code: str  # the set's letter or the student's id ("" for a single paper)
    folder: str  # where its files are, relative to the build
    pages: list[dict[str, Any]]  # its manifest's pages: size, regions and bubbles
    columns: tuple[str, ...] = ()  # its responses.csv columns (ITEM.ANSWER), in order
    single: frozenset[str] = frozenset()  # the choices where one option is asked for


@dataclass(frozen=True)
class Build:
    """What scanning needs of a build: its code and its papers' pages."""

    folder: Path
    build: str
    papers: dict[str, Paper]


def load_build(folder: Path) -> Build:
    """The on-paper papers of the build in `folder`, from its manifests."""
    top = folder / "manifest.json"
    try:
        data = json.loads(top.read_text("utf-8"))
    except FileNotFoundError:
        raise InputError(
            "not a qbgen build (no manifest.json): scan the folder `qbgen build` wrote", file=folder
        ) from None
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read the build's manifest: {exc}", file=top) from None
    if not isinstance(data, dict):
        raise InputError("not a qbgen manifest", file=top)
    entries = data.get("papers") or [{**data, "folder": ""}]
    papers: dict[str, Paper] = {}
    builds = set()
    for entry in entries:
        own = folder / entry.get("folder", "") / "manifest.json"
        try:
            manifest = json.loads(own.read_text("utf-8")) if entry.get("folder") else data
        except (OSError, ValueError) as exc:
            raise InputError(f"cannot read a paper's manifest: {exc}", file=own) from None
        if "pages" not in manifest:
            raise InputError(
                "this build has no answer-on-paper pages: build it with --on-paper (or on_paper: true)",
                file=folder,
            )
        candidate = manifest.get("candidate") or {}
        code = candidate.get("id") or manifest.get("variant") or ""
        answers = [
            (response_column(item, ident), rule)
            for q in manifest.get("questions", [])
            for item, contract in (q.get("scoring") or {}).items()
            for ident, rule in contract["answers"].items()
        ]
        single = frozenset(
            c for c, rule in answers if rule.get("rule") == "options" and not rule.get("multiple")
        )
        papers[code] = Paper(
            code, entry.get("folder", ""), manifest["pages"], tuple(c for c, _ in answers), single
        )
        builds.add(manifest["build"])
    return Build(folder, builds.pop() if len(builds) == 1 else "", papers)


# --------------------------------------------------------------------------- reading pages


@dataclass(frozen=True)
class Source:
    """One scanned page: its file and page (1-based; an image is page 1)."""

    file: str
    page: int


def sources(paths: Sequence[Path]) -> list[Source]:
    """Every page of the scans, checked readable first: a corrupt file is one line."""
    out: list[Source] = []
    for path in paths:
        if not path.is_file():
            raise InputError("no such scan", file=path)
        suffix = path.suffix.lower()
        if suffix == ".pdf":
            import pypdfium2 as pdfium

            try:
                doc = pdfium.PdfDocument(str(path))
            except Exception as exc:  # pdfium's own error type varies by version
                raise InputError(f"not a PDF it can read ({exc})", file=path) from None
            try:
                out += [Source(str(path), n) for n in range(1, len(doc) + 1)]
            finally:
                doc.close()
        elif suffix in IMAGE_SUFFIXES:
            from PIL import Image

            try:
                with Image.open(path) as im:
                    im.verify()
            except Exception as exc:  # Pillow raises many kinds for a damaged file
                raise InputError(f"not an image it can read ({type(exc).__name__})", file=path) from None
            out.append(Source(str(path), 1))
        else:
            raise InputError(
                f"not a scan qbgen reads: PDF, or an image ({', '.join(sorted(IMAGE_SUFFIXES))})", file=path
            )
    return out


def _image(source: Source) -> Any:
    # The page as a grayscale numpy array.
    import numpy as np

    if source.file.lower().endswith(".pdf"):
        import pypdfium2 as pdfium

        doc = pdfium.PdfDocument(source.file)
        try:
            return np.asarray(
                doc[source.page - 1].render(scale=DPI / 72, grayscale=True).to_pil().convert("L")
            )
        finally:
            doc.close()
    from PIL import Image

    with Image.open(source.file) as im:
        return np.asarray(im.convert("L"))


# --------------------------------------------------------------------------- registering


def _symbol(text: str, page_width: float, page_height: float) -> Any:
    # The QR symbol's corners on the page (points, y down): top-left, top-right,
    # bottom-right, bottom-left, as the decoder reports them.
    import numpy as np
    import segno

    n = segno.make(text, error="m", micro=False).symbol_size(border=0)[0]
    m = QR_SIZE / (n + 8)
    x0, y0 = qr_box(page_width)
    left, right = x0 + 4 * m, x0 + QR_SIZE - 4 * m
    top, bottom = page_height - (y0 + QR_SIZE - 4 * m), page_height - (y0 + 4 * m)
    return np.array([[left, top], [right, top], [right, bottom], [left, bottom]], dtype=np.float32)


def _marks(width: float, height: float) -> Any:
    # The corner marks' centres on the page (points, y down).
    import numpy as np

    near, far_x, far_y = INSET + MARK / 2, width - INSET - MARK / 2, height - INSET - MARK / 2
    return np.array([[near, near], [far_x, near], [far_x, far_y], [near, far_y]], dtype=np.float32)


def _find_mark(binary: Any, guess: Any, side: float) -> Any | None:
    # The centre of the filled square of about `side` pixels nearest `guess`, or None.
    import cv2
    import numpy as np

    h, w = binary.shape
    radius = int(max(12, 5 * side))
    x, y = int(guess[0]), int(guess[1])
    x0, y0, x1, y1 = max(0, x - radius), max(0, y - radius), min(w, x + radius), min(h, y + radius)
    if x1 <= x0 or y1 <= y0:
        return None
    count, _labels, stats, centres = cv2.connectedComponentsWithStats(binary[y0:y1, x0:x1])
    best = None
    for i in range(1, count):
        bw, bh, area = stats[i, cv2.CC_STAT_WIDTH], stats[i, cv2.CC_STAT_HEIGHT], stats[i, cv2.CC_STAT_AREA]
        # A filled square of the mark's size, turned a little at most: no glyph, no rule.
        if not 0.7 * side < math.sqrt(area) < 1.4 * side or not 0.6 < bw / max(bh, 1) < 1.6:
            continue
        if area < 0.6 * bw * bh:
            continue
        d = float(np.hypot(centres[i][0] + x0 - guess[0], centres[i][1] + y0 - guess[1]))
        if best is None or d < best[0]:
            best = (d, (centres[i][0] + x0, centres[i][1] + y0))
    return None if best is None else np.array(best[1], dtype=np.float32)


def register(image: Any, size: tuple[float, float], qr: Any | None) -> Any | None:
    """The homography from page points (y down) to the image's pixels, or None.

    From the QR symbol's corners where the code was read (`qr`: where the page put them,
    and where the decoder found them), and the four corner marks found near where those
    put them: all the points together, a wrong one rejected (RANSAC). From the marks
    alone where there is no code (the page is then taken as upright).
    """
    import cv2
    import numpy as np

    width, height = size
    binary = (image < 128).astype(np.uint8)
    marks = _marks(width, height)
    if qr is not None:
        # The code is small: a perspective from its corners alone swings wide at the far
        # edge of the page, a similarity (turn, scale, shift: what a scanner does) not.
        similar, _ = cv2.estimateAffinePartial2D(qr[0], qr[1])
        if similar is None:
            return None
        first = np.vstack([similar, [0, 0, 1]])
        guesses = cv2.transform(marks[None], similar)[0]
        scale = math.sqrt(abs(np.linalg.det(similar[:2, :2])))
        src, dst = [qr[0]], [qr[1]]
    else:
        h, w = image.shape
        scale = min(w / width, h / height)
        guesses = marks * np.array([w / width, h / height], dtype=np.float32)
        first, src, dst = None, [], []
    found = [(m, _find_mark(binary, g, MARK * scale)) for m, g in zip(marks, guesses, strict=True)]
    src += [m[None] for m, f in found if f is not None]
    dst += [f[None] for _m, f in found if f is not None]
    if sum(len(x) for x in src) < 4:
        return first
    points, targets = np.concatenate(src), np.concatenate(dst)
    homography, inliers = cv2.findHomography(points, targets, cv2.RANSAC, max(2.0, 0.4 * MARK * scale))
    if homography is None or int(inliers.sum()) < 4:
        return first
    return homography


def rotation(homography: Any) -> int:
    """How far the page is turned in the image, to the nearest quarter: 0, 90, 180, 270."""
    import cv2
    import numpy as np

    a, b = cv2.perspectiveTransform(np.array([[[300, 400], [300, 300]]], dtype=np.float32), homography)[0]
    angle = math.degrees(math.atan2(b[0] - a[0], -(b[1] - a[1])))  # "up" on the page, in the image
    return int(round(angle / 90) % 4) * 90


def cut(image: Any, homography: Any, region: dict[str, float], page_height: float, scale: float) -> Any:
    """A region of the page (points, y up), straightened at `scale` pixels a point."""
    import cv2
    import numpy as np

    w, h = int(round(region["width"] * scale)), int(round(region["height"] * scale))
    top = page_height - region["y"] - region["height"]
    to_page = np.array([[1 / scale, 0, region["x"]], [0, 1 / scale, top], [0, 0, 1]], dtype=np.float64)
    return cv2.warpPerspective(
        image, homography @ to_page, (w, h), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderValue=255
    )


# --------------------------------------------------------------------------- one page


@dataclass
class Seen:
    """What one scanned page turned out to be."""

    source: Source
    status: str  # placed, no code, another build, unknown paper, no such page, duplicate, unregistered
    paper: str = ""
    page: int = 0
    rotation: int = 0
    files: list[str] = field(default_factory=list)  # what it wrote, relative to the scans folder
    bubbles: dict[str, dict[str, str]] = field(default_factory=dict)  # answer -> option -> filled/empty/faint


_CONTEXT: dict[str, Any] = {}  # a worker's build and staging folder, set once per process


def _init(build: Build, work: str) -> None:
    _CONTEXT.update(build=build, work=work)


def _read(job: tuple[int, Source, tuple[str, int] | None]) -> Seen:
    # One page, in a worker process: decode, register, cut into the staging folder.
    import cv2
    import numpy as np
    import zxingcpp

    index, source, assigned = job
    build: Build = _CONTEXT["build"]
    work: str = _CONTEXT["work"]
    image = _image(source)
    code = None
    corners = None
    for found in zxingcpp.read_barcodes(image):
        code = read_code(found.text)
        if code is not None:
            p = found.position
            points = (p.top_left, p.top_right, p.bottom_right, p.bottom_left)
            corners = (found.text, np.array([[c.x, c.y] for c in points], dtype=np.float32))
            break
    if assigned is not None:
        paper_code, number = assigned
    elif code is None:
        return _unplaced(source, "no code", image, work)
    elif code.build != build.build:
        return _unplaced(source, "another build", image, work)
    else:
        paper_code, number = code.paper, code.page
    paper = build.papers.get(paper_code)
    if paper is None:
        return _unplaced(source, "unknown paper", image, work)
    if not 1 <= number <= len(paper.pages):
        return _unplaced(source, "no such page", image, work)
    record = paper.pages[number - 1]
    size = (record["width"], record["height"])
    qr = None
    if corners is not None and assigned is None:
        qr = (_symbol(corners[0], *size), corners[1])
    homography = register(image, size, qr)
    if homography is None:
        return _unplaced(source, "unregistered", image, work)
    seen = Seen(source, "placed", paper_code, number, rotation(homography))
    # Each page's files go to a folder of its own first: two scans of one page (a
    # duplicate) never write over each other; the merge keeps the first.
    where = Path(work) / READ / str(index) / (paper.folder or "paper")
    where.mkdir(parents=True, exist_ok=True)
    page_png = f"page-{number}.png"
    straight = cut(
        image, homography, {"x": 0, "y": 0, "width": size[0], "height": size[1]}, size[1], PAGE_SCALE
    )
    cv2.imwrite(str(where / page_png), straight)
    seen.files.append(f"{where.name}/{page_png}")
    for bubble in record.get("bubbles", []):
        seen.bubbles.setdefault(bubble["answer"], {})[bubble["option"]] = _fill(
            cut(image, homography, bubble, size[1], BUBBLE_SCALE)
        )
    for region in record["regions"]:
        name = f"{_safe(region['item'])}.png"
        m = CROP_MARGIN
        wider = {"x": region["x"] - m, "y": region["y"] - m, "width": region["width"] + 2 * m}
        wider["height"] = region["height"] + 2 * m
        cv2.imwrite(str(where / name), cut(image, homography, wider, size[1], CROP_SCALE))
        seen.files.append(f"{where.name}/{name}")
    return seen


def _fill(bubble: Any) -> str:
    """Whether a bubble is filled in: how dark it is inside its circle (0 white, 1 black).

    The printed circle stays out of it (inside 60% of the radius); its light letter adds
    a few hundredths. A pen's fill is nearly black; an empty bubble, with noise, light.
    Between the two (a faint pencil, half a fill) it is not read but reported.
    """
    import numpy as np

    h, w = bubble.shape
    yy, xx = np.mgrid[0:h, 0:w]
    inside = (yy - (h - 1) / 2) ** 2 + (xx - (w - 1) / 2) ** 2 <= (0.6 * min(h, w) / 2) ** 2
    dark = float(1 - bubble[inside].mean() / 255)
    return "filled" if dark > FILLED else "empty" if dark < EMPTY else "faint"


def _unplaced(source: Source, status: str, image: Any, work: str) -> Seen:
    # A page that cannot be placed: a thumbnail a person can look at, named by the scan.
    import cv2

    folder = Path(work) / "unplaced"
    folder.mkdir(exist_ok=True)
    # Named by the scan and its page, and a digest of the scan's whole path: two scans
    # called page1.jpg in two folders keep a thumbnail each.
    digest = hashlib.sha256(source.file.encode()).hexdigest()[:6]
    name = f"{_safe(Path(source.file).name)}-{digest}-{source.page}.png"
    h, w = image.shape
    thumb = cv2.resize(image, (max(1, w * 300 // max(h, 1)), 300), interpolation=cv2.INTER_AREA)
    cv2.imwrite(str(folder / name), thumb)
    return Seen(source, status, files=[f"unplaced/{name}"])


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_.()" else "_" for c in name)


def crop_path(folder: Path, paper_folder: str, item: str) -> Path:
    """Where `scan` cut an item's room to answer of a paper (it may not exist)."""
    return folder / SCANS / (paper_folder or "paper") / f"{_safe(item)}.png"


def page_path(folder: Path, paper_folder: str, page: int) -> Path:
    """Where `scan` kept a paper's page, straightened at 100 dpi (it may not exist)."""
    return folder / SCANS / (paper_folder or "paper") / f"page-{page}.png"


# --------------------------------------------------------------------------- the command


@dataclass(frozen=True)
class ScanResult:
    """What `scan` placed, what it could not, and what is missing."""

    out: Path
    placed: int
    unplaced: list[Seen]
    missing: list[tuple[str, int]]
    files: list[Path]


def parse_assign(text: str) -> tuple[str, int, str, int]:
    """`FILE:PAGE=STUDENT:PAGE`, one page placed by hand."""
    left, sep, right = text.partition("=")
    file, _, page = left.rpartition(":")
    student, _, paper_page = right.rpartition(":")
    if not sep or not file or not page.isdigit() or not paper_page.isdigit():
        raise InputError(f"--assign {text!r}: write FILE:PAGE=STUDENT:PAGE (pages from 1)")
    return file, int(page), student, int(paper_page)


def scan(
    folder: Path, paths: Sequence[Path], *, assign: Sequence[str] = (), jobs: int | None = None
) -> ScanResult:
    """Place every page of `paths` with its paper, cut its regions, write BUILD/scans/."""
    build = load_build(folder)
    manual = {}
    for text in assign:
        file, page, student, number = parse_assign(text)
        manual[(str(Path(file).resolve()), page)] = (student, number)
    pages = sources([Path(p).resolve() for p in paths])
    out = folder / SCANS
    earlier = _earlier(out)
    with staging(out) as tmp:
        work = [(i, s, manual.get((s.file, s.page))) for i, s in enumerate(pages)]
        workers = max(1, min(jobs or os.cpu_count() or 1, len(work)))
        if workers == 1:
            _init(build, str(tmp))
            seen = [_read(j) for j in work]
        else:
            # Pages decode side by side, a page at a time in each worker: memory stays
            # flat however many pages there are.
            with ProcessPoolExecutor(workers, initializer=_init, initargs=(build, str(tmp))) as pool:
                seen = list(pool.map(_read, work, chunksize=1))
        rows, names = _merge(earlier, seen, out, tmp)
        read = _bubbles(build, seen, earlier_bubbles=_earlier_bubbles(out))
        if read is not None:
            responses, report = read
            (tmp / RESPONSES).write_text(_csv(responses), "utf-8")
            (tmp / BUBBLES).write_text(_csv(report), "utf-8")
            names += [RESPONSES, BUBBLES]
        missing = [
            (code, n)
            for code, paper in build.papers.items()
            for n in range(1, len(paper.pages) + 1)
            if (code, n)
            not in {(r["student"], int(r["paper_page"])) for r in rows if r["status"] == "placed"}
        ]
        (tmp / PAGES).write_text(_csv([COLUMNS] + [[r[c] for c in COLUMNS] for r in rows]), "utf-8")
        (tmp / MISSING).write_text(_csv([["student", "page"]] + [[c, str(n)] for c, n in missing]), "utf-8")
        files = publish(tmp, out, sorted(set(names)) + [PAGES, MISSING], command="scan")
    placed = sum(1 for r in rows if r["status"] == "placed")
    return ScanResult(out, placed, [s for s in seen if s.status != "placed"], missing, files)


def _earlier_bubbles(out: Path) -> dict[tuple[str, str], dict[str, str]]:
    # What an earlier run read of the bubbles (their states), by paper and answer.
    try:
        rows = list(csv.DictReader(io.StringIO((out / BUBBLES).read_text("utf-8"))))
    except OSError:
        return {}
    return {(r["student"], r["answer"]): json.loads(r["bubbles"]) for r in rows if r.get("bubbles")}


def _bubbles(
    build: Build, seen: list[Seen], earlier_bubbles: dict[tuple[str, str], dict[str, str]]
) -> tuple[list[list[str]], list[list[str]]] | None:
    # The choices read from the bubbles of the placed pages, as a responses sheet of one
    # row a student (a roster's build: a set's papers are not one student's), and the
    # report of each: read, blank, several (one option asked) or faint, never guessed.
    if any(not p.code for p in build.papers.values()) or not any(
        b for p in build.papers.values() for page in p.pages for b in page.get("bubbles", [])
    ):
        return None
    states = dict(earlier_bubbles)
    for s in seen:
        if s.status == "placed":
            for answer, marks in s.bubbles.items():
                states[(s.paper, answer)] = marks
    columns = list(dict.fromkeys(c for p in build.papers.values() for c in p.columns))
    rows, report = [["id", *columns]], [["student", "answer", "read", "status", "bubbles"]]
    for code, paper in build.papers.items():
        row = dict.fromkeys(columns, "")
        for (who, answer), marks in sorted(states.items()):
            if who != code:
                continue
            filled = [o for o, state in marks.items() if state == "filled"]
            if any(state == "faint" for state in marks.values()):
                status = "faint"
            elif not filled:
                status = "blank"
            elif len(filled) > 1 and answer in paper.single:
                status = "several"
            else:
                status = "read"
                row[answer] = ",".join(sorted(filled))
            report.append([code, answer, ",".join(sorted(filled)), status, json.dumps(marks, sort_keys=True)])
        rows.append([code] + [row[c] for c in columns])
    return rows, report


def _earlier(out: Path) -> list[dict[str, str]]:
    # What an earlier run placed and listed (a late script adds to it).
    try:
        text = (out / PAGES).read_text("utf-8")
    except OSError:
        return []
    return list(csv.DictReader(io.StringIO(text)))


def _merge(
    earlier: list[dict[str, str]], seen: list[Seen], out: Path, tmp: Path
) -> tuple[list[dict[str, str]], list[str]]:
    # Earlier placements stand; a new page of an already placed paper page is a duplicate.
    rows: list[dict[str, str]] = []
    names: list[str] = []
    taken: set[tuple[str, int]] = set()
    for row in earlier:
        if row.get("status") != "placed":
            continue
        taken.add((row["student"], int(row["paper_page"])))
        rows.append(row)
    for name in _files_of(out, earlier):
        if not (tmp / name).exists():
            (tmp / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(out / name, tmp / name)
        names.append(name)
    for i, s in enumerate(seen):
        status = s.status
        if status == "placed" and (s.paper, s.page) in taken:
            status = s.status = "duplicate"
            s.files = _thumb_of(s, tmp)
        elif status == "placed":
            taken.add((s.paper, s.page))
            for name in s.files:  # from the page's own folder to its paper's
                target = tmp / name
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(tmp / READ / str(i) / name, target)
        names += s.files
        rows.append(
            {
                "file": s.source.file,
                "page": str(s.source.page),
                "student": s.paper if status == "placed" else "",
                "paper_page": str(s.page) if status == "placed" else "",
                "rotation": str(s.rotation) if status == "placed" else "",
                "status": status,
            }
        )
    shutil.rmtree(tmp / READ, ignore_errors=True)
    return rows, names


def _files_of(out: Path, earlier: list[dict[str, str]]) -> Iterator[str]:
    # The files an earlier run wrote for its placed pages: their paper folders.
    if not earlier:
        return
    for path in sorted(out.rglob("*.png")):
        rel = path.relative_to(out).as_posix()
        if not rel.startswith("unplaced/"):
            yield rel


def _thumb_of(s: Seen, tmp: Path) -> list[str]:
    # A duplicate is listed like any page that is not placed: with a thumbnail.
    return _unplaced(s.source, "duplicate", _image(s.source), str(tmp)).files


def _csv(rows: list[list[str]]) -> str:
    # Ids and file names are the user's: a spreadsheet formula stays text (sheets' rule).
    return csv_text(rows)


__all__ = [
    "ScanResult",
    "crop_path",
    "load_build",
    "page_path",
    "parse_assign",
    "register",
    "rotation",
    "scan",
    "sources",
]
