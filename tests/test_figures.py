r"""The authoring API's fast figure parts draw what TikZ draws.

`marks` and `polyline` write PDF operators (`\qbdraw`) instead of TikZ paths, for
speed. Each case here typesets the same shapes both ways with real pdflatex (through
the PNG pipeline the LMS exports use), rasterises them with pdftoppm, and compares
the inked pixels: a misplaced, mis-scaled or missing mark changes far more pixels
than anti-aliasing does.
"""

from __future__ import annotations

import matplotlib.image as mpimg
import pytest

from qbgen.authoring import marks, polyline
from qbgen.html import Picture, figures_to_png

from .conftest import needs_tex

POINTS = [(0.2, 0.3), (0.5, 0.5), (0.75, 0.2), (0.9, 0.85)]


def _picture(unit: float, body: str) -> str:
    # A frame 3 cm square and a little more sets the bounding box (the literals do not
    # count towards it); it is too light to count as ink.
    a, b = -0.5 / unit, 3.5 / unit
    return "\n".join(
        [
            rf"\begin{{tikzpicture}}[x={unit}cm, y={unit}cm, >=Stealth]",
            rf"\draw[black!10] ({a},{a}) rectangle ({b},{b});",
            body,
            r"\end{tikzpicture}",
        ]
    )


def _tikz_crosses(d: float) -> str:
    one = f"++(-{d}pt,-{d}pt) -- ++({2 * d}pt,{2 * d}pt) ++(-{2 * d}pt,0pt) -- ++({2 * d}pt,-{2 * d}pt)"
    return "\\draw[line width=0.6pt] " + " ".join(f"({x},{y}) {one}" for x, y in POINTS) + ";"


WAVE = [(x / 10, 0.5 + 0.6 * (x / 10 - 0.5) ** 2 * (1 if x % 2 else -1)) for x in range(-2, 13)]
CASES = {
    "dots": (
        3.0,
        r"\fill " + " ".join(f"({x},{y}) circle (1.5pt)" for x, y in POINTS) + ";",
        marks(POINTS, unit=3.0, mark="dot", size=1.5),
    ),
    "gray crosses": (
        3.0,
        _tikz_crosses(2.0).replace(r"\draw[", r"\draw[black!55, "),
        marks(POINTS, unit=3.0, mark="cross", size=2.0, gray=0.45),
    ),
    "rings": (
        1.0,
        r"\draw " + " ".join(f"({3 * x},{3 * y}) circle (4mm)" for x, y in POINTS) + ";",
        marks([(3 * x, 3 * y) for x, y in POINTS], unit=1.0, mark="ring", size=4 / 0.35146, line=0.4),
    ),
    "clipped line": (
        3.0,
        r"\begin{scope}\clip (0,0) rectangle (1,1);\draw[very thick] "
        + " -- ".join(f"({x:.3f},{y:.3f})" for x, y in WAVE)
        + r";\end{scope}",
        polyline(WAVE, unit=3.0, width=1.2, clip=(0, 0, 1, 1)),
    ),
    "arrows": (
        1.0,
        r"\draw[->] (0.2,0.3) -- (2.6,0.3); \draw[->] (0.2,0.6) -- (2.5,2.8);",
        polyline([(0.2, 0.3), (2.6, 0.3)], unit=1.0, arrow=True)
        + polyline([(0.2, 0.6), (2.5, 2.8)], unit=1.0, arrow=True),
    ),
}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    folder = tmp_path_factory.mktemp("figures")
    pictures = []
    for i, (unit, tikz, fast) in enumerate(CASES.values()):
        pictures.append(Picture(f"{2 * i:04x}", "", _picture(unit, tikz)))
        pictures.append(Picture(f"{2 * i + 1:04x}", "", _picture(unit, fast)))
    pngs = figures_to_png(pictures, folder, dpi=300)
    return {p.key: mpimg.imread(pngs[p.key])[..., :3].mean(axis=-1) for p in pictures}


@needs_tex
@pytest.mark.parametrize("i, case", list(enumerate(CASES)))
def test_fast_marks_draw_what_tikz_draws(rendered, i, case):
    tikz, fast = rendered[f"{2 * i:04x}"], rendered[f"{2 * i + 1:04x}"]
    assert tikz.shape == fast.shape  # the same bounding box: the frame's
    ink_tikz, ink_fast = tikz < 0.75, fast < 0.75
    assert ink_tikz.sum() > 200, "the TikZ drawing printed almost nothing"
    apart = (ink_tikz ^ ink_fast).sum() / (ink_tikz | ink_fast).sum()
    assert apart < 0.1, f"{case}: {apart:.0%} of the inked pixels differ"
    # The gray is TikZ's too (black!55 is 45% white).
    both = ink_tikz & ink_fast
    assert abs(float(tikz[both].mean()) - float(fast[both].mean())) < 0.08


def test_fast_marks_refuse_what_they_cannot_draw():
    with pytest.raises(ValueError, match="mark must be one of"):
        marks(POINTS, unit=1, mark="star")
    with pytest.raises(ValueError, match="two points"):
        polyline([(0, 0)], unit=1)
    with pytest.raises(ValueError, match="no end"):
        polyline(POINTS, unit=1, closed=True, arrow=True)
