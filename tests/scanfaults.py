"""Scans as a copier makes them, from a build's own PDFs: for the scan tests and the bench.

Each page of each paper is rendered (pdfium) at a scanner's resolution, an answer is
written into each room the manifest names (Pillow), and the page gets a copier's faults:
a few degrees of skew, some pages upside down, a slightly different scale, blur, noise
and JPEG artefacts. Everything is seeded.
"""

from __future__ import annotations

import io
import json
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter


@dataclass
class Sheet:
    """One scanned page and the truth about it."""

    image: Image.Image
    paper: str  # the paper's code ("" for a blank or foreign page)
    page: int
    turned: bool = False
    filled: dict[str, str] | None = None  # each choice's bubbles filled in: answer -> "A" or "A,C"


def papers(build: Path) -> dict[str, tuple[Path, dict]]:
    """Each on-paper paper of a build: its exam.pdf and manifest, by its code."""
    top = json.loads((build / "manifest.json").read_text())
    out = {}
    for entry in top.get("papers") or [{**top, "folder": ""}]:
        folder = build / entry["folder"]
        manifest = json.loads((folder / "manifest.json").read_text())
        code = (manifest.get("candidate") or {}).get("id") or manifest.get("variant") or ""
        out[code] = (folder / "exam.pdf", manifest)
    return out


def render(pdf: Path, dpi: int) -> list[Image.Image]:
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(str(pdf))
    try:
        return [doc[i].render(scale=dpi / 72).to_pil().convert("L") for i in range(len(doc))]
    finally:
        doc.close()


def fill(image: Image.Image, record: dict, bubble: dict, shade: int = 0) -> None:
    """A bubble filled in with a pen (`shade` 0: black; lighter is a faint mark)."""
    draw = ImageDraw.Draw(image)
    scale = image.height / record["height"]
    cx = (bubble["x"] + bubble["width"] / 2) * scale
    cy = (record["height"] - bubble["y"] - bubble["height"] / 2) * scale
    r = 0.42 * bubble["width"] * scale
    draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=shade)


def choose(image: Image.Image, record: dict, rng: random.Random) -> dict[str, str]:
    """Fill one bubble of each choice on the page, at random; return what was filled."""
    by_answer: dict[str, list[dict]] = {}
    for b in record.get("bubbles", []):
        by_answer.setdefault(b["answer"], []).append(b)
    chosen = {}
    for answer, bubbles in by_answer.items():
        b = rng.choice(bubbles)
        fill(image, record, b)
        chosen[answer] = b["option"]
    return chosen


def write_answers(image: Image.Image, record: dict, text: str) -> None:
    """Pen strokes and a line of text in each room of the page."""
    draw = ImageDraw.Draw(image)
    scale = image.height / record["height"]
    for region in record["regions"]:
        left = region["x"] * scale
        top = (record["height"] - region["y"] - region["height"]) * scale
        w, h = region["width"] * scale, region["height"] * scale
        draw.text((left + 0.05 * w, top + 0.3 * h), f"{text} {region['item']}", fill=0)
        for k in range(3):  # a scribble, heavy enough to see on any scan
            y = top + h * (0.45 + 0.1 * k)
            draw.line(
                [(left + 0.05 * w, y), (left + 0.6 * w, y + 0.05 * h)], fill=0, width=max(4, int(2 * scale))
            )


def copier(image: Image.Image, rng: random.Random, *, turn: bool = False) -> Image.Image:
    """A copier's faults: skew, scale, blur, noise, JPEG (and upside down if `turn`)."""
    angle = rng.uniform(-3, 3) + (180 if turn else 0)
    image = image.rotate(angle, resample=Image.BICUBIC, expand=True, fillcolor=255)
    f = rng.uniform(0.95, 1.04)
    image = image.resize((int(image.width * f), int(image.height * f)), Image.BILINEAR)
    image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 0.9)))
    pixels = np.asarray(image).astype(np.int16)
    noise = np.random.default_rng(rng.randrange(2**32)).normal(0, 6, pixels.shape)
    image = Image.fromarray(np.clip(pixels + noise, 0, 255).astype(np.uint8))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=rng.randint(55, 80))
    return Image.open(io.BytesIO(out.getvalue())).convert("L")


def scans(build: Path, seed: int = 0, dpis: tuple[int, ...] = (200,), *, turn_every: int = 5) -> list[Sheet]:
    """Every page of every paper, answered and copied, in paper order (papers at `dpis` in turn)."""
    rng = random.Random(seed)
    out = []
    for i, (code, (pdf, manifest)) in enumerate(papers(build).items()):
        pages = render(pdf, dpis[i % len(dpis)])
        for n, (image, record) in enumerate(zip(pages, manifest["pages"], strict=True), 1):
            write_answers(image, record, f"answer of {code}")
            chosen = choose(image, record, rng)
            turned = len(out) % turn_every == turn_every - 1
            out.append(Sheet(copier(image, rng, turn=turned), code, n, turned, chosen))
    return out


def blank(dpi: int = 200) -> Image.Image:
    """A blank sheet, as the feeder pulls one in."""
    return Image.new("L", (int(8.27 * dpi), int(11.69 * dpi)), 250)


def save_pdf(sheets: list[Image.Image], path: Path, dpi: int = 200) -> Path:
    """Images as one scanned PDF (a page each)."""
    sheets[0].save(path, "PDF", save_all=True, append_images=sheets[1:], resolution=dpi)
    return path
