"""Generator for linear-network-boundary (paper-b:8a, paper-b:8b).

Parameters: the widths of the two hidden linear layers (the paper has 4 and 3), the
layout of the drawn two-class point set (a disc inside a ring, or two interleaved
moons) and the seed of that drawing. solve builds the code listing with the widths
(given), its filled-in version (answer), the three in_features (answers), the drawn
points and the four candidate boundaries as data (two straight lines, a curve that
fits the data, another curve), their pictures (givens) and which options are straight
(the choice's correct options, `straight`, in the question file's order).

check (a) parses the widths back from the listing, builds the layers as NumPy arrays of
shape (out, in) from the answered in_features and runs a batch of 2-D points through
them (shapes must chain, two output columns); (b) runs the filled-in code itself
against a stand-in for torch.nn; (c) verifies that the composed network is affine and
that its decision boundary is a straight line; (d) checks from the drawn points that
no line separates the classes (their convex hulls meet), and (e) that the options
solve marks correct are exactly those whose boundary points are collinear.

mistakes declares, for the three in_features blanks, each layer's own out_features
(width1, width2, 2: the misreading the marking scheme names) and, for layer2,
input_dimension (2) repeated; sample's widths (3 to 10, different) keep them all wrong.
"""

import builtins
import re
from types import SimpleNamespace
from typing import Literal

import numpy as np
from pydantic import Field

from qbgen import authoring
from qbgen.authoring import CheckFailed, Solution, agree, figure, require

# The options in the question file's order; the straight ones are the correct ones.
OPTIONS = ("option_line_a", "option_fit", "option_line_b", "option_other")
ALT_DATA = "Two classes of points in the unit square, dots and crosses, that no straight line separates."

# The paper's listing never imports torch itself (it uses torch.nn.Module): a new paper
# adds the line; the paper as set (`as_set`) prints the listing as it was.
IMPORT = "import torch\n"
CODE = """{import_torch}import torch.nn.functional as F
import torch.nn as nn

class My_Neural_Network(torch.nn.Module):

    def __init__(self, input_dimension, output_dimension=2):

        super(My_Neural_Network, self).__init__()

{init}

    def forward(self, x):
        x1 = self.layer1(x)           # Passing input through Linear Layer 1
        x2 = self.layer2(x1)          # Passing output from layer 1 to layer 2
        x3 = self.layer3(x2)          # Passing output from layer 2 to layer 3

        return x3                     # Return final output
"""
# The paper puts each comment at the end of its line; above the line it fits the page.
INIT = """        # Input Linear layer with {c1} inputs and {h1} outputs
        self.layer1 = torch.nn.Linear( {b1}, {h1})
        # Hidden Linear layer with {c2} inputs and {h2} outputs
        self.layer2 = torch.nn.Linear( {b2}, {h2})
        # Output Linear layer with {c3} inputs and 2 outputs
        self.layer3 = torch.nn.Linear( {b3}, output_dimension)"""
# The paper as set: each comment at the end of its line, as printed (in smaller type).
INIT_AS_SET = "\n".join(
    [
        "        self.layer1 = torch.nn.Linear( {b1}, {h1})           "
        "# Input Linear layer with {c1} inputs and {h1} outputs",
        "        self.layer2 = torch.nn.Linear( {b2}, {h2})           "
        "# Hidden Linear layer with {c2} inputs and {h2} outputs",
        "        self.layer3 = torch.nn.Linear( {b3}, output_dimension) "
        "# Output Linear layer with {c3} inputs and 2 outputs",
    ]
)
BLANK = "____"


class Params(authoring.Params):
    width1: int = Field(ge=2, le=64, description="outputs of layer1 (the paper: 4)")
    width2: int = Field(ge=2, le=64, description="outputs of layer2 (the paper: 3)")
    layout: Literal["disc", "moons"] = Field(description="shape of the drawn point set")
    data_seed: int = Field(ge=0, le=10**6, description="seed of the drawn points and boundaries")
    as_set: bool = Field(
        default=False, description="the paper's own listing: no `import torch`, comments at line ends"
    )


def _separable_somewhere(a: np.ndarray, b: np.ndarray) -> bool:
    # Sweep directions: a line separates the classes if their projections do not overlap
    # (all 721 directions at once).
    th = np.linspace(0, np.pi, 721)
    u = np.stack([np.cos(th), np.sin(th)])  # (2, 721)
    pa, pb = a @ u, b @ u
    apart = (pa.max(axis=0) < pb.min(axis=0) + 0.02) | (pb.max(axis=0) < pa.min(axis=0) + 0.02)
    return bool(apart.any())


def sample(rng: np.random.Generator) -> Params:
    w1, w2 = (int(v) for v in rng.choice(np.arange(3, 11), size=2, replace=False))
    layout = str(rng.choice(["disc", "moons"]))
    while True:  # the point of the question needs data no line separates
        data_seed = int(rng.integers(0, 10**6))
        draw = np.random.default_rng(data_seed)
        a, b = _points(Params(width1=w1, width2=w2, layout=layout, data_seed=data_seed), draw)
        if not _separable_somewhere(a, b):
            return Params(width1=w1, width2=w2, layout=layout, data_seed=data_seed)


# --------------------------------------------------------------------------- drawing


def _points(p: Params, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Return (class-1 points, class-2 points) in the unit square."""
    if p.layout == "disc":
        c = np.array([0.5, 0.5]) + rng.uniform(-0.04, 0.04, 2)
        n_in, n_out = 8, 12
        r_in = 0.2 * np.sqrt(rng.uniform(0.05, 1.0, n_in))
        a_in = rng.uniform(0, 2 * np.pi, n_in)
        a_out = (np.arange(n_out) + rng.uniform(-0.3, 0.3, n_out)) * 2 * np.pi / n_out + rng.uniform(0, 1)
        r_out = rng.uniform(0.33, 0.44, n_out)
        inner = c + np.c_[r_in * np.cos(a_in), r_in * np.sin(a_in)]
        outer = c + np.c_[r_out * np.cos(a_out), r_out * np.sin(a_out)]
        return inner, outer
    theta = np.linspace(0.1, np.pi - 0.1, 10) + rng.uniform(-0.12, 0.12, 10)
    upper = np.c_[np.cos(theta), np.sin(theta)] + rng.normal(0, 0.07, (10, 2))
    theta = np.linspace(0.1, np.pi - 0.1, 10) + rng.uniform(-0.12, 0.12, 10)
    lower = np.c_[1 - np.cos(theta), 0.5 - np.sin(theta)] + rng.normal(0, 0.07, (10, 2))
    return _moon_to_unit(upper), _moon_to_unit(lower)


def _moon_to_unit(xy: np.ndarray) -> np.ndarray:
    # Moon coordinates: x in [-1, 2], y in [-0.5, 1].
    return np.c_[0.1 + (xy[:, 0] + 1) / 3 * 0.8, 0.2 + (xy[:, 1] + 0.5) / 1.5 * 0.6]


def _line(point: np.ndarray, angle: float) -> np.ndarray:
    t = np.linspace(-1.0, 1.0, 25)
    return point + np.c_[t * np.cos(angle), t * np.sin(angle)]


def _boundaries(p: Params, rng: np.random.Generator, a: np.ndarray, b: np.ndarray) -> dict[str, np.ndarray]:
    centre = np.vstack([a, b]).mean(axis=0)
    ang1 = rng.uniform(0, np.pi)
    ang2 = ang1 + rng.uniform(np.radians(45), np.radians(135))
    normal2 = np.array([-np.sin(ang2), np.cos(ang2)])
    line_a = _line(centre + rng.uniform(-0.05, 0.05, 2), ang1)
    line_b = _line(centre + rng.choice([-1, 1]) * rng.uniform(0.08, 0.18) * normal2, ang2)
    xs = np.linspace(-0.02, 1.02, 41)
    if p.layout == "disc":
        c = a.mean(axis=0)
        r_in = np.max(np.linalg.norm(a - c, axis=1))
        r_out = np.min(np.linalg.norm(b - c, axis=1))
        r = 0.5 * (r_in + r_out)
        t = np.linspace(0, 2 * np.pi, 48, endpoint=False)
        squash = rng.uniform(0.9, 1.1)
        fit = c + np.c_[r * squash * np.cos(t), r / squash * np.sin(t)]
        amp, k, ph = rng.uniform(0.1, 0.16), rng.choice([1.5, 2.0]), rng.uniform(0, 1)
        other = np.c_[xs, centre[1] + amp * np.sin(2 * np.pi * (k * xs + ph))]
    else:
        mx = np.linspace(-1.35, 2.35, 41)
        fit = _moon_to_unit(np.c_[mx, 0.25 - 0.5 * np.sin(np.pi * (mx - 0.5))])
        x0, y0 = rng.uniform(0.35, 0.65), rng.uniform(0.15, 0.3)
        k = rng.uniform(2.0, 3.0) * rng.choice([-1, 1])
        if k < 0:
            y0 = 1 - y0
        other = np.c_[xs, y0 + k * (xs - x0) ** 2]
    return {"option_line_a": line_a, "option_fit": fit, "option_line_b": line_b, "option_other": other}


def _marks(a: np.ndarray, b: np.ndarray, unit: float, size: float, gray: float) -> list[str]:
    # As PDF operators (authoring.marks): 20 marks as TikZ paths cost TeX 30 ms a figure.
    return [
        authoring.marks(a, unit=unit, mark="dot", size=size, gray=gray),
        authoring.marks(b, unit=unit, mark="cross", size=size * 1.15, gray=gray),
    ]


def _data_figure(a: np.ndarray, b: np.ndarray) -> str:
    return "\n".join(
        [
            r"\begin{tikzpicture}[x=4.2cm, y=4.2cm, baseline=(current bounding box.north)]",
            r"\draw[black!50] (0,0) rectangle (1,1);",
            r"\node[font=\footnotesize, anchor=north] at (0.5,0) {$x_1$};",
            r"\node[font=\footnotesize, anchor=east] at (0,0.5) {$x_2$};",
        ]
        + _marks(a, b, 4.2, 2.0, 0.0)
        + [
            r"\node[font=\footnotesize, anchor=north] at (0.5,-0.09) "
            r"{$\bullet$ class 1\qquad $\times$ class 2};",
            r"\end{tikzpicture}",
        ]
    )


def _option_figure(a: np.ndarray, b: np.ndarray, curve: np.ndarray, closed: bool) -> str:
    return "\n".join(
        [
            r"\begin{tikzpicture}[x=2.3cm, y=2.3cm, baseline=(current bounding box.center)]",
            r"\draw[black!50] (0,0) rectangle (1,1);",
        ]
        + _marks(a, b, 2.3, 1.3, 0.45)
        + [
            authoring.polyline(curve, unit=2.3, width=1.2, closed=closed, clip=(0, 0, 1, 1)),
            r"\end{tikzpicture}",
        ]
    )


# --------------------------------------------------------------------------- solve


def solve(p: Params) -> Solution:
    rng = np.random.default_rng(p.data_seed)
    a, b = _points(p, rng)
    curves = _boundaries(p, rng, a, b)
    init = INIT_AS_SET if p.as_set else INIT
    shown = CODE.format(
        import_torch="" if p.as_set else IMPORT,
        init=init.format(
            b1=BLANK, b2=BLANK, b3=BLANK, c1=BLANK, c2=BLANK, c3=BLANK, h1=p.width1, h2=p.width2
        ),
    )
    filled = init.format(
        b1="input_dimension",
        b2=p.width1,
        b3=p.width2,
        c1="input_dimension (2)",
        c2=p.width1,
        c3=p.width2,
        h1=p.width1,
        h2=p.width2,
    )
    givens: dict[str, object] = {
        "code": shown,
        "code_size": "footnotesize" if p.as_set else "",
        "data": figure(_data_figure(a, b), ALT_DATA),
    }
    for name in OPTIONS:
        straight_line = name.startswith("option_line")
        alt = "The data with a straight boundary." if straight_line else "The data with a curved boundary."
        tikz = _option_figure(a, b, curves[name], closed=p.layout == "disc" and name == "option_fit")
        givens[name] = figure(tikz, alt)
    data = {"class1": a, "class2": b, "boundaries": curves}
    steps = [
        r"The \texttt{in\_features} of each \texttt{nn.Linear} must equal the number of values "
        r"it receives: the 2 coordinates of a point for \texttt{layer1}, then the "
        rf"\texttt{{out\_features}} of the layer before: {p.width1} for \texttt{{layer2}}, "
        rf"{p.width2} for \texttt{{layer3}}.",
        r"Without activations, $x_3 = W_3(W_2(W_1x + b_1) + b_2) + b_3 = Ax + c$ with "
        r"$A = W_3W_2W_1 \in \mathbb{R}^{2\times 2}$ and $c = W_3W_2b_1 + W_3b_2 + b_3$.",
        r"The predicted class is the larger of the two outputs: class 1 where "
        r"$(a_1 - a_2)^\top x + (c_1 - c_2) > 0$ ($a_i^\top$ the rows of $A$), a half-plane; "
        r"the boundary $(a_1 - a_2)^\top x + (c_1 - c_2) = 0$ is a straight line.",
    ]
    straight = [i for i, name in enumerate(OPTIONS) if name.startswith("option_line")]
    answers = {"in1": 2, "in2": p.width1, "in3": p.width2, "filled": filled, "straight": straight}
    return Solution(answers=answers, steps=steps, givens=givens, data=data)


def mistakes(p: Params) -> dict[str, dict[str, float]]:
    return {
        "in1": {"layer1's own out_features": p.width1},
        "in2": {"layer2's own out_features": p.width2, "input_dimension (2) repeated": 2},
        "in3": {"layer3's own out_features (output_dimension, 2)": 2},
    }


# --------------------------------------------------------------------------- check


class _FakeLinear:
    def __init__(self, in_features: int, out_features: int) -> None:
        rng = np.random.default_rng(in_features * 100 + out_features)
        self.in_features, self.out_features = in_features, out_features
        self.weight = rng.standard_normal((out_features, in_features))
        self.bias = rng.standard_normal(out_features)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return x @ self.weight.T + self.bias


class _FakeModule:
    def __init__(self) -> None:
        pass

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.forward(x)


_FAKE_TORCH = SimpleNamespace(
    nn=SimpleNamespace(Module=_FakeModule, Linear=_FakeLinear, functional=SimpleNamespace())
)


def _run_filled(code: str) -> object:
    def fake_import(name, globals=None, locals=None, fromlist=(), level=0):  # noqa: A002
        if name == "torch" or name.startswith("torch."):
            return _FAKE_TORCH
        return builtins.__import__(name, globals, locals, fromlist, level)

    space = {
        "__builtins__": {**vars(builtins), "__import__": fake_import},
        "torch": _FAKE_TORCH,
        "__name__": "question_code",
    }
    exec(compile(code, "<filled code>", "exec"), space)  # the bank's own, trusted code
    return space["My_Neural_Network"](input_dimension=2)


def _collinear(pts: np.ndarray) -> bool:
    centred = pts - pts.mean(axis=0)
    _, sv, vt = np.linalg.svd(centred, full_matrices=False)
    off = np.abs(centred @ vt[1])  # distances from the best-fitting line
    if off.max() < 0.003:
        return True
    if off.max() > 0.03:
        return False
    raise CheckFailed(f"a boundary is neither clearly straight nor clearly curved (off by {off.max():.4f})")


def _hull(pts: np.ndarray) -> np.ndarray:
    """Convex hull, counter-clockwise (Andrew's monotone chain)."""
    pts = sorted(map(tuple, pts))

    def cross(o, p, q) -> float:
        return (p[0] - o[0]) * (q[1] - o[1]) - (p[1] - o[1]) * (q[0] - o[0])

    lower: list = []
    upper: list = []
    for pt in pts:
        while len(lower) >= 2 and cross(lower[-2], lower[-1], pt) <= 0:
            lower.pop()
        lower.append(pt)
    for pt in reversed(pts):
        while len(upper) >= 2 and cross(upper[-2], upper[-1], pt) <= 0:
            upper.pop()
        upper.append(pt)
    return np.array(lower[:-1] + upper[:-1])


def _hulls_meet(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether the convex hulls of two point sets intersect (the sets are not separable)."""
    ha, hb = _hull(a), _hull(b)

    def inside(pt: np.ndarray, h: np.ndarray) -> bool:
        e = np.roll(h, -1, axis=0) - h
        w = pt - h
        return bool(np.all(e[:, 0] * w[:, 1] - e[:, 1] * w[:, 0] >= 0))

    def crosses(p1, p2, q1, q2) -> bool:
        def orient(o, p, q) -> float:
            return float(np.sign((p[0] - o[0]) * (q[1] - o[1]) - (p[1] - o[1]) * (q[0] - o[0])))

        return orient(p1, p2, q1) * orient(p1, p2, q2) < 0 and orient(q1, q2, p1) * orient(q1, q2, p2) < 0

    if any(inside(pt, hb) for pt in a) or any(inside(pt, ha) for pt in b):
        return True
    return any(
        crosses(ha[i], ha[(i + 1) % len(ha)], hb[j], hb[(j + 1) % len(hb)])
        for i in range(len(ha))
        for j in range(len(hb))
    )


def check(p: Params, s: Solution) -> None:
    ans, giv = s.answers, s.givens
    rng = np.random.default_rng(p.width1 * 1000 + p.width2)

    # (a) the widths printed in the listing, then (out, in) arrays from the answers.
    shown = giv["code"]
    require(shown.count(BLANK) == 6, "the listing must show six blanks")
    outs = [int(v) for v in re.findall(r"Linear\( ____, (\d+)\)", shown)]
    blank_lines = [ln for ln in shown.splitlines() if BLANK in ln]
    filled_lines = ans["filled"].splitlines()
    require(outs == [p.width1, p.width2], f"the listing shows widths {outs}")
    require("output_dimension=2" in shown, "the listing must fix two outputs")
    shapes = [(outs[0], ans["in1"]), (outs[1], ans["in2"]), (2, ans["in3"])]
    layers = [(rng.standard_normal(sh), rng.standard_normal(sh[0])) for sh in shapes]
    batch = rng.uniform(-1, 1, (7, 2))
    h = batch
    try:
        for w, bias in layers:
            h = h @ w.T + bias
    except ValueError as exc:
        raise CheckFailed(f"the answered in_features do not chain: {exc}") from None
    require(h.shape == (7, 2), f"the network gives shape {h.shape}, want (7, 2)")

    # (b) the listing with the answered lines put in place of its blank lines runs.
    require(len(filled_lines) == len(blank_lines), "the answer must replace each line with a blank")
    require(BLANK not in ans["filled"], "the filled lines still have blanks")
    for old, new in zip(blank_lines, filled_lines, strict=True):
        head = old.split(BLANK)[0]
        require(new.startswith(head), f"answered line {new.strip()!r} does not fill {old.strip()!r}")
    completed = shown
    for old, new in zip(blank_lines, filled_lines, strict=True):
        completed = completed.replace(old, new, 1)
    net = _run_filled(completed)
    out = net(batch)
    require(out.shape == (7, 2), "the filled code does not map 2-D points to 2 outputs")
    agree("in1", net.layer1.in_features, ans["in1"])
    agree("in2", net.layer2.in_features, ans["in2"])
    agree("in3", net.layer3.in_features, ans["in3"])
    agree("in2", net.layer1.out_features, ans["in2"])
    agree("in3", net.layer2.out_features, ans["in3"])

    # (c) composition of the three layers is affine; its decision boundary is a line.
    def f(x: np.ndarray) -> np.ndarray:
        return net.layer3(net.layer2(net.layer1(x)))

    x, y = rng.uniform(-3, 3, (2, 5, 2))
    for t in (-1.5, 0.3, 0.8, 2.0):
        require(np.allclose(f(t * x + (1 - t) * y), t * f(x) + (1 - t) * f(y)), "the network is not affine")

    def g(pt: np.ndarray) -> float:
        return float(f(pt[None, :])[0, 0] - f(pt[None, :])[0, 1])

    roots = []
    for c in np.linspace(-2, 2, 6):
        g0, g1 = g(np.array([c, 0.0])), g(np.array([c, 1.0]))
        require(abs(g1 - g0) > 1e-9, "degenerate random layers")
        yr = -g0 / (g1 - g0)
        roots.append([c, yr])
        require(abs(g(np.array([c, yr]))) < 1e-6 * (1 + abs(g0)), "boundary root not found")
    require(
        _collinear(np.array(roots) / max(1.0, np.abs(roots).max())), "the decision boundary is not a line"
    )

    # (d) the drawn classes are not linearly separable.
    dots, crosses = np.array(s.data["class1"]), np.array(s.data["class2"])
    require(len(dots) >= 8 and len(crosses) >= 8, f"{len(dots)} dots and {len(crosses)} crosses drawn")
    inside_frame = ((dots >= 0) & (dots <= 1)).all() and ((crosses >= 0) & (crosses <= 1)).all()
    require(bool(inside_frame), "points outside the frame")
    require(_hulls_meet(dots, crosses), "the drawn classes are linearly separable")

    # (e) the options solve marks correct are exactly the straight boundaries.
    boundaries = s.data["boundaries"]
    require(set(boundaries) == set(OPTIONS), f"boundaries {sorted(boundaries)} != {sorted(OPTIONS)}")
    straight = set()
    for i, name in enumerate(OPTIONS):
        pts = np.array(boundaries[name])
        require(len(pts) >= 20, f"{name}: too few boundary points")
        inside = pts[(pts >= 0).all(axis=1) & (pts <= 1).all(axis=1)]
        require(len(inside) >= 5, f"{name}: the boundary hardly enters the picture")
        if _collinear(pts):
            straight.add(i)
    require(
        straight == set(ans["straight"]),
        f"options {sorted(straight)} are straight, solve marks {ans['straight']}",
    )
