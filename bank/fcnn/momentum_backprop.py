"""Generator for momentum-backprop (paper-b:1).

A 2-2-1 network, sigmoid everywhere, no biases: x1, x2 -> h1, h2 (w1..w4) -> y (w5 from
h1, w6 from h2). solve does the forward pass, the error E = (t - y)^2 / 2, the chain
rule for dE/dw5 and dE/dw6 and the momentum update of w5 and w6; it also draws the
figure (lost from the paper) as TikZ. check redoes the forward pass in matrix form
with sigmoid written through tanh, takes the gradients by central finite differences
of E and applies the update rule stated in the question; it returns the net inputs,
t - y and 1 - y of its own pass, which the worked steps print too.

mistakes declares, per answer, what known wrong methods give: a hidden unit (h1, h2)
or the output (y) left linear, and y from linear hidden units; E as (t-y)^2 without
the 1/2 or as t-y; for delta, the gradients, the changes and the new weights, the
gradient of (t-y)^2 (doubled), h(1-h) in place of y(1-y) (not on the new weights: it
moves them by less than their third figure), y(1-y) left out; for the changes and the
new weights also eta*alpha*dw(n-1) or alpha*w for alpha*dw(n-1), +eta*dE/dw, momentum
forgotten, and w - dw(n). sample draws again until every mistake lies outside the
key's band (BANDS, as in the question file) and the new weights stay inside (-1, 1).
"""

import numpy as np
from pydantic import Field

from qbgen import authoring
from qbgen.authoring import Solution, agree, figure, fmt, require, rounded

ALPHAS = [0.5, 0.6, 0.8, 0.9]
ETAS = [0.1, 0.2, 0.24, 0.25, 0.5]
TARGETS = [1.0, 0.0, 0.9, 0.1]

Weight = Field(ge=-1, le=1)


class Params(authoring.Params):
    x1: float = Field(ge=0, le=1, description="input x1")
    x2: float = Field(ge=0, le=1, description="input x2")
    w1: float = Weight  # x1 -> h1
    w2: float = Weight  # x2 -> h1
    w3: float = Weight  # x1 -> h2
    w4: float = Weight  # x2 -> h2
    w5: float = Weight  # h1 -> y
    w6: float = Weight  # h2 -> y
    dw5_prev: float = Field(ge=-0.2, le=0.2, description="previous change of w5")
    dw6_prev: float = Field(ge=-0.2, le=0.2, description="previous change of w6")
    alpha: float = Field(gt=0, lt=1, description="momentum")
    eta: float = Field(gt=0, le=1, description="learning rate")
    target: float = Field(ge=0, le=1, description="desired output")


def _sig(z: float) -> float:
    return 1.0 / (1.0 + np.exp(-z))


# The key's bands, as momentum-backprop.yaml sets them: (rel, abs, of). sample draws
# again when a declared mistake would land inside one (validate proves the same).
BANDS: dict[str, tuple[float, float, str | None]] = {
    "h1": (0.005, 0.0, None),
    "h2": (0.005, 0.0, None),
    "y": (0.005, 0.0, None),
    "error": (0.02, 0.0, None),
    "delta": (0.01, 0.0, None),
    "grad_w5": (0.01, 0.0, None),
    "grad_w6": (0.01, 0.0, None),
    "dw5": (0.0075, 0.0, None),
    "dw6": (0.0075, 0.0, None),
    "w5_new": (0.0075, 0.0006, "dw5"),
    "w6_new": (0.0075, 0.0006, "dw6"),
}


def _told_apart(p: Params) -> bool:
    # Every declared mistake falls outside its answer's band, and the new weights stay
    # inside (-1, 1), where 3 figures are 3 decimals (0.0005 at most, inside abs 0.0006).
    answers = solve(p).answers
    if max(abs(answers["w5_new"]), abs(answers["w6_new"])) >= 1:
        return False
    for key, wrong in mistakes(p).items():
        rel, absolute, of = BANDS[key]
        value = answers[key]
        half = max(rel * abs(answers[of or key]), absolute)
        if any(abs(v - value) <= half * (1 + 1e-9) for v in wrong.values()):
            return False
    return True


def sample(rng: np.random.Generator) -> Params:
    while True:
        x1, x2 = rounded(rng.uniform(0.05, 1.0, 2), 2)
        w = rounded(rng.uniform(-1.0, 1.0, 6), 2)
        prev = rounded(rng.uniform(-0.08, 0.08, 2), 2)
        alpha = float(rng.choice(ALPHAS))
        eta = float(rng.choice(ETAS))
        target = float(rng.choice(TARGETS))
        if min(abs(v) for v in w) < 0.05 or min(abs(v) for v in prev) < 0.01:
            continue  # no zero-looking weights; the momentum term must matter
        h1 = _sig(w[0] * x1 + w[1] * x2)
        h2 = _sig(w[2] * x1 + w[3] * x2)
        y = _sig(w[4] * h1 + w[5] * h2)
        if abs(target - y) < 0.15:
            continue  # keep the gradient clearly non-zero
        step = [eta * (y - target) * y * (1 - y) * h for h in (h1, h2)]  # eta * dE/dw5, dE/dw6
        if min(abs(g) for g in step) < 0.003:
            continue
        # The update must not nearly cancel (-eta*g against alpha*prev): a tiny dw would
        # make its relative band narrower than honest 4-figure rounding of delta and h.
        if any(
            abs(-g + alpha * d) < max(0.005, 0.25 * max(abs(g), abs(alpha * d)))
            for g, d in zip(step, prev, strict=True)
        ):
            continue
        p = Params(
            x1=x1,
            x2=x2,
            w1=w[0],
            w2=w[1],
            w3=w[2],
            w4=w[3],
            w5=w[4],
            w6=w[5],
            dw5_prev=prev[0],
            dw6_prev=prev[1],
            alpha=alpha,
            eta=eta,
            target=target,
        )
        # About half the draws so far have h(1-h) within a band of y(1-y) (sigmoid
        # slopes alike near 0.5), so that slip would go unseen: draw again.
        if _told_apart(p):
            return p


ALT = (
    "A network with inputs x1 and x2, hidden units h1 and h2 and one output y: x1 and x2 "
    "feed h1 (weights w1, w2) and h2 (w3, w4); h1 and h2 feed y (w5, w6)."
)


# The network's drawing, in cm. It was TikZ nodes and edges (a node costs TeX about 3 ms,
# the figure 70 ms, most of a roster paper's typesetting); it is now PDF operators for
# the circles and arrows and \pgftext for the labels, placed where TikZ put them: circles
# of 4 mm radius (minimum size 8mm, inner sep 0), edges from border to border (0.2pt
# outer sep), weight labels on them in footnotesize on white with 1pt of padding.
_UNITS = {"x1": (0.0, 2.4), "x2": (0.0, 0.0), "h1": (3.5, 2.4), "h2": (3.5, 0.0), "y": (6.1, 1.2)}
_PT = 1 / 28.4528  # cm
_BORDER = 0.4 + 0.2 * _PT
# (from, to, weight, position along the edge, where the label sits against that point)
_EDGES = (
    ("x1", "h1", "w1", 0.5, "above"),
    ("x2", "h1", "w2", 0.27, "on"),
    ("x1", "h2", "w3", 0.27, "on"),
    ("x2", "h2", "w4", 0.5, "below"),
    ("h1", "y", "w5", 0.5, "above right"),
    ("h2", "y", "w6", 0.5, "below right"),
)
_PLACE = {  # \pgftext's options and the shift (pt) of the TikZ anchor, outer sep included
    "on": ("", 0.0, 0.0),
    "above": ("bottom,", 0.0, 1.2),
    "below": ("top,", 0.0, -1.2),
    "above right": ("left,bottom,", 0.2, 0.2),
    "below right": ("left,top,", 0.2, -0.2),
}


def _text(x: float, y: float, options: str, body: str) -> str:
    return rf"\pgftext[{options}at=\pgfqpoint{{{x / _PT:.2f}pt}}{{{y / _PT:.2f}pt}}]{{{body}}}"


def _figure(p: Params) -> str:
    def lab(name: str, v: float) -> str:
        return rf"${name} = {{{fmt(v)}}}$"

    def border(a: str, b: str) -> tuple[tuple[float, float], tuple[float, float]]:
        (ax, ay), (bx, by) = _UNITS[a], _UNITS[b]
        d = float(np.hypot(bx - ax, by - ay))
        ux, uy = (bx - ax) / d, (by - ay) / d
        return (ax + _BORDER * ux, ay + _BORDER * uy), (bx - _BORDER * ux, by - _BORDER * uy)

    lines = [
        r"\begin{tikzpicture}[x=1cm, y=1cm]",
        # The circles' extent (line included), as TikZ's nodes had it: literals do not count.
        rf"\path ({-_BORDER:.4f},{-_BORDER:.4f}) (7.0,{2.4 + _BORDER:.4f});",
        authoring.marks(_UNITS.values(), unit=1, mark="ring", size=0.4 / _PT, line=0.4),
    ]
    labels = []
    for a, b, w, pos, place in _EDGES:
        start, end = border(a, b)
        lines.append(authoring.polyline([start, end], unit=1, width=0.4, arrow=True))
        options, sx, sy = _PLACE[place]
        x, y = start[0] + pos * (end[0] - start[0]), start[1] + pos * (end[1] - start[1])
        body = (
            r"\footnotesize\setlength{\fboxsep}{1pt}\colorbox{white}{" + lab(f"w_{w[1]}", getattr(p, w)) + "}"
        )
        labels.append(_text(x + sx * _PT, y + sy * _PT, options, body))
    yx, yy = _UNITS["y"]
    lines.append(authoring.polyline([(yx + _BORDER, yy), (yx + 0.9, yy)], unit=1, width=0.4, arrow=True))
    for name, (x, y) in _UNITS.items():
        labels.append(_text(x, y, "", f"${name[0]}_{name[1]}$" if len(name) > 1 else f"${name}$"))
    # `left=2mm of x1`: the value 2 mm and an outer sep left of the circle's border, padded
    # by the node's inner sep (0.3333em) and outer sep, which count towards the picture's
    # width (and so where it sits, centred).
    for name in ("x1", "x2"):
        x, y = _UNITS[name]
        pad = r"\hspace*{3.867pt}"
        value = pad + lab(f"x_{name[1]}", getattr(p, name)) + pad
        labels.append(_text(x - _BORDER - 0.2 - 0.2 * _PT, y, "right,", value))
    return "\n".join([*lines, *labels, r"\end{tikzpicture}"])


def _forward_pass(p: Params) -> tuple[float, float, float, float, float, float]:
    # net1, net2, h1, h2, net_y, y: the pass solve shows and the mistakes start from.
    net1 = p.w1 * p.x1 + p.w2 * p.x2
    net2 = p.w3 * p.x1 + p.w4 * p.x2
    h1, h2 = _sig(net1), _sig(net2)
    net_o = p.w5 * h1 + p.w6 * h2
    return net1, net2, h1, h2, net_o, _sig(net_o)


def solve(p: Params) -> Solution:
    net1, net2, h1, h2, net_o, y = _forward_pass(p)
    err = 0.5 * (p.target - y) ** 2
    delta = -(p.target - y) * y * (1.0 - y)  # dE/dnet_o
    g5, g6 = delta * h1, delta * h2
    dw5 = -p.eta * g5 + p.alpha * p.dw5_prev
    dw6 = -p.eta * g6 + p.alpha * p.dw6_prev
    w5n, w6n = p.w5 + dw5, p.w6 + dw6
    f = fmt
    steps = [
        rf"$\mathrm{{net}}_{{h_1}} = w_1x_1 + w_2x_2 = "
        rf"({f(p.w1)})({f(p.x1)}) + ({f(p.w2)})({f(p.x2)}) = {f(net1)}$, "
        rf"$h_1 = \sigma({f(net1)}) = {f(h1)}$.",
        rf"$\mathrm{{net}}_{{h_2}} = w_3x_1 + w_4x_2 = "
        rf"({f(p.w3)})({f(p.x1)}) + ({f(p.w4)})({f(p.x2)}) = {f(net2)}$, "
        rf"$h_2 = \sigma({f(net2)}) = {f(h2)}$.",
        rf"$\mathrm{{net}}_y = w_5h_1 + w_6h_2 = ({f(p.w5)})({f(h1)}) + ({f(p.w6)})({f(h2)}) = {f(net_o)}$, "
        rf"$y = \sigma({f(net_o)}) = {f(y)}$.",
        rf"$E = \tfrac12(t-y)^2 = \tfrac12({f(p.target)} - {f(y)})^2 = {f(err)}$.",
        rf"$\delta = \dfrac{{\partial E}}{{\partial\, \mathrm{{net}}_y}} = -(t-y)\,y(1-y) = "
        rf"-({f(p.target - y)})({f(y)})({f(1 - y)}) = {f(delta)}$.",
        rf"$\dfrac{{\partial E}}{{\partial w_5}} = \delta\,h_1 = {f(g5)}$, \quad "
        rf"$\dfrac{{\partial E}}{{\partial w_6}} = \delta\,h_2 = {f(g6)}$.",
        rf"$\Delta w_5(n) = -\eta\,\dfrac{{\partial E}}{{\partial w_5}} + \alpha\,\Delta w_5(n-1) = "
        rf"-({f(p.eta)})({f(g5)}) + ({f(p.alpha)})({f(p.dw5_prev)}) = {f(dw5)}$.",
        rf"$\Delta w_6(n) = -({f(p.eta)})({f(g6)}) + ({f(p.alpha)})({f(p.dw6_prev)}) = {f(dw6)}$.",
        rf"$w_5^{{\text{{new}}}} = {f(p.w5)} + ({f(dw5)}) = {f(w5n)}$, \quad "
        rf"$w_6^{{\text{{new}}}} = {f(p.w6)} + ({f(dw6)}) = {f(w6n)}$.",
    ]
    answers = {
        "h1": h1,
        "h2": h2,
        "y": y,
        "error": err,
        "delta": delta,
        "grad_w5": g5,
        "grad_w6": g6,
        "dw5": dw5,
        "dw6": dw6,
        "w5_new": w5n,
        "w6_new": w6n,
    }
    # The forward pass under part (a), the backward pass and the update under part (b).
    return Solution(
        answers=answers, part_steps={1: steps[:4], 2: steps[4:]}, givens={"figure": figure(_figure(p), ALT)}
    )


def mistakes(p: Params) -> dict[str, dict[str, float]]:
    # Each wrong method redone from the params and the forward pass, not from solve's answers.
    net1, net2, h1, h2, net_o, y = _forward_pass(p)
    err = 0.5 * (p.target - y) ** 2
    diff = p.target - y
    delta = -diff * y * (1 - y)
    out: dict[str, dict[str, float]] = {
        "h1": {"hidden unit left linear (net input as h1)": net1},
        "h2": {"hidden unit left linear (net input as h2)": net2},
        "y": {
            "output left linear (net_y as y)": net_o,
            "hidden units left linear, carried to y": _sig(p.w5 * net1 + p.w6 * net2),
        },
        "error": {"(t-y)^2 without the 1/2": 2 * err, "signed difference t-y": diff},
        "delta": {
            "gradient of (t-y)^2 without the 1/2 (doubled)": 2 * delta,
            "h1(1-h1) in place of y(1-y)": -diff * h1 * (1 - h1),
            "h2(1-h2) in place of y(1-y)": -diff * h2 * (1 - h2),
            "factor y(1-y) missing": -diff,
            # not a mistake: the key accepts it (the question file's `alternatives`)
            "sign folded in: delta_o = (t-y)y(1-y)": diff * y * (1 - y),
        },
    }
    for n, h, w, prev in ((5, h1, p.w5, p.dw5_prev), (6, h2, p.w6, p.dw6_prev)):
        g = delta * h
        g_hidden = -diff * h * (1 - h) * h  # the sigmoid derivative taken at the hidden unit
        g_bare = -diff * h  # y(1-y) left out
        out[f"grad_w{n}"] = {
            "gradient of (t-y)^2 without the 1/2 (doubled)": 2 * g,
            f"h{n - 4}(1-h{n - 4}) in place of y(1-y)": g_hidden,
            "factor y(1-y) missing": g_bare,
            "sign folded in: delta_o = (t-y)y(1-y)": diff * y * (1 - y) * h,
        }
        dw = {
            "momentum term scaled by eta (eta*alpha*dw(n-1))": -p.eta * g + p.eta * p.alpha * prev,
            "gradient of (t-y)^2 without the 1/2 (doubled)": -2 * p.eta * g + p.alpha * prev,
            "alpha*w in place of alpha*dw(n-1)": -p.eta * g + p.alpha * w,
            f"h{n - 4}(1-h{n - 4}) in place of y(1-y)": -p.eta * g_hidden + p.alpha * prev,
            "factor y(1-y) missing": -p.eta * g_bare + p.alpha * prev,
            "sign slip: +eta*dE/dw": p.eta * g + p.alpha * prev,
            "momentum term forgotten": -p.eta * g,
        }
        out[f"dw{n}"] = dw
        # The h(1-h) slip moves the new weight by less than its third figure can show
        # (0.00019 on w5 in the paper's draw, where 3 figures round by 0.00019): it is
        # told apart on delta, the gradients and the changes, not on the new weights.
        new = {name: w + v for name, v in dw.items() if "(1-h" not in name}
        new["change subtracted: w - dw(n)"] = w - (-p.eta * g + p.alpha * prev)
        out[f"w{n}_new"] = new
    return out


def _nets(p: Params, w5: float, w6: float) -> tuple[np.ndarray, float]:
    # Matrix form: rows of W_hidden are the hidden units; the net inputs of h and of y.
    x = np.array([p.x1, p.x2])
    w_hidden = np.array([[p.w1, p.w2], [p.w3, p.w4]])
    net_hidden = w_hidden @ x
    hidden = 0.5 * (1.0 + np.tanh(0.5 * net_hidden))
    return net_hidden, float(np.array([w5, w6]) @ hidden)


def _forward(p: Params, w5: float, w6: float) -> tuple[np.ndarray, float, float]:
    # Sigmoid through tanh.
    net_hidden, net_out = _nets(p, w5, w6)
    hidden = 0.5 * (1.0 + np.tanh(0.5 * net_hidden))
    out = 0.5 * (1.0 + np.tanh(0.5 * net_out))
    return hidden, out, 0.5 * (out - p.target) ** 2


def check(p: Params, s: Solution) -> dict[str, object]:
    a = s.answers
    hidden, out, err = _forward(p, p.w5, p.w6)
    agree("h1", hidden[0], a["h1"])
    agree("h2", hidden[1], a["h2"])
    agree("y", out, a["y"])
    agree("error", err, a["error"])
    step = 1e-6
    g5 = (_forward(p, p.w5 + step, p.w6)[2] - _forward(p, p.w5 - step, p.w6)[2]) / (2 * step)
    g6 = (_forward(p, p.w5, p.w6 + step)[2] - _forward(p, p.w5, p.w6 - step)[2]) / (2 * step)
    require(abs(g5) > 1e-4 and abs(g6) > 1e-4, "the gradient is too close to zero")
    agree("grad_w5", g5, a["grad_w5"], rel=1e-6, abs=1e-9)
    agree("grad_w6", g6, a["grad_w6"], rel=1e-6, abs=1e-9)
    agree("delta", g5 / hidden[0], a["delta"], rel=1e-6, abs=1e-9)
    dw5 = p.alpha * p.dw5_prev - p.eta * g5
    dw6 = p.alpha * p.dw6_prev - p.eta * g6
    agree("dw5", dw5, a["dw5"], rel=1e-6, abs=1e-9)
    agree("dw6", dw6, a["dw6"], rel=1e-6, abs=1e-9)
    agree("w5_new", p.w5 + dw5, a["w5_new"], rel=1e-6, abs=1e-9)
    agree("w6_new", p.w6 + dw6, a["w6_new"], rel=1e-6, abs=1e-9)
    # The step taken must lower E when momentum is switched off (a sanity check on sign).
    lower = _forward(p, p.w5 - 1e-3 * g5, p.w6 - 1e-3 * g6)[2]
    require(lower < err, "a small step against the gradient does not lower the error")
    # What the worked steps print beyond the answers: the net inputs, t - y and 1 - y.
    net_hidden, net_out = _nets(p, p.w5, p.w6)
    return {"net_hidden": net_hidden, "net_y": net_out, "t_minus_y": p.target - out, "one_minus_y": 1 - out}
