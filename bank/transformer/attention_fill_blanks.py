"""Generator for attention-fill-blanks (paper-a:3d, a reconstruction of a lost figure).

One scaled dot-product attention step on three tokens with d_k = 2: Q, K, V are small
integer matrices (one row per token). solve uses NumPy matrix products; check redoes
every blank with explicit Python loops, math.exp and math.sqrt, and also checks that
the attention rows sum to 1 and each output row lies between the value rows. It returns
what the steps print beyond the answers: the row labels and shapes (from the lengths of
Q, K, V), d_k and 1/sqrt(d_k), the blank labels (1) to (4), and the unshifted
exponentials and their row sums (math.exp entry by entry, tied to its shifted softmax);
and it checks the row labels, shapes and d_k in place, since validate's reading cannot
tell 3 from 4 when both are vouched.
"""

import math
import re

import numpy as np
from pydantic import Field, field_validator

from qbgen import authoring
from qbgen.authoring import Solution, agree, figure, fmt, matrix, require

TOKENS, D = 3, 2
Matrix = list[list[int]]


class Params(authoring.Params):
    q: Matrix = Field(description="queries, one row per token (3 x 2)")
    k: Matrix = Field(description="keys, one row per token (3 x 2)")
    v: Matrix = Field(description="values, one row per token (3 x 2)")

    @field_validator("q", "k", "v")
    @classmethod
    def _shape(cls, m: Matrix) -> Matrix:
        if len(m) != TOKENS or any(len(row) != D for row in m):
            raise ValueError(f"need a {TOKENS} x {D} matrix")
        if any(not -2 <= x <= 2 for row in m for x in row):
            raise ValueError("entries must lie in -2..2")
        return m


def _well_posed(q: np.ndarray, k: np.ndarray, v: np.ndarray) -> bool:
    s = q @ k.T
    spread = s.max(axis=1) - s.min(axis=1)
    return bool(
        (spread >= 1).all()  # no row of equal scores (a uniform, trivial softmax)
        and (spread <= 4).all()  # no near-saturated softmax (smallest weight > 0.02)
        and len({tuple(r) for r in k.tolist()}) == TOKENS  # distinct keys
        and len({tuple(r) for r in v.tolist()}) == TOKENS  # distinct values
        and (np.abs(q).sum(axis=1) > 0).all()
        and (np.abs(v).sum(axis=0) > 0).all()  # no all-zero value column
    )


def sample(rng: np.random.Generator) -> Params:
    while True:
        q, k, v = (rng.integers(-2, 3, size=(TOKENS, D)) for _ in range(3))
        if _well_posed(q, k, v):
            return Params(q=q.tolist(), k=k.tolist(), v=v.tolist())


ROWS = [f"row {i + 1}" for i in range(TOKENS)]


def _table(m: np.ndarray) -> list[list]:
    return [[ROWS[i]] + list(m[i]) for i in range(m.shape[0])]


ALT = (
    "Scaled dot-product attention from bottom to top: Q and K enter MatMul, then (1) "
    "Scale, (2) SoftMax, (3) MatMul with V, (4) the output."
)


def _figure() -> str:
    return r"""\begin{tikzpicture}[>=Stealth, font=\small,
  op/.style={draw, rounded corners=2pt, minimum width=2.2cm, minimum height=0.55cm, fill=black!4},
  lab/.style={right=1pt, font=\small\bfseries}]
\node (q) at (-0.6,0) {$Q$};
\node (k) at (0.6,0) {$K$};
\node (v) at (2.3,0) {$V$};
\node[op] (m1) at (0,1.0) {MatMul};
\node[op] (sc) at (0,2.1) {Scale};
\node[op] (sm) at (0,3.2) {SoftMax};
\node[op] (m2) at (0,4.3) {MatMul};
\coordinate (out) at (0,5.3);
\draw[->] (q) -- (q |- m1.south);
\draw[->] (k) -- (k |- m1.south);
\draw[->] (m1) -- node[lab] {(1)} (sc);
\draw[->] (sc) -- node[lab] {(2)} (sm);
\draw[->] (sm) -- node[lab] {(3)} (m2);
\draw[->] (v) |- (m2.east);
\draw[->] (m2) -- node[lab] {(4)} (out);
\end{tikzpicture}"""


def _vec(values) -> str:
    # 4 significant figures by fmt's rule, as the key's tables print them.
    return "(" + ",\\ ".join(str(fmt(x, 4)) for x in values) + ")"


def solve(p: Params) -> Solution:
    q, k, v = (np.array(m, dtype=np.int64) for m in (p.q, p.k, p.v))
    s = q @ k.T
    root = np.sqrt(D)
    scaled = s / root
    e = np.exp(scaled)
    z = e.sum(axis=1)
    a = e / z[:, None]
    o = a @ v

    steps = [
        r"\textbf{(1)} The first MatMul takes the dot product of every query with every "
        rf"key: $S = QK^\top$ (${fmt(s.shape[0])}\times {fmt(s.shape[1])}$), $S_{{ij}} = q_i\cdot k_j$ "
        r"(row $i$ of $Q$ with row $j$ of $K$)."
    ]
    for i in range(TOKENS):
        terms = ",\\ ".join(
            f"({fmt(p.q[i][0])})({fmt(p.k[j][0])}) + "
            f"({fmt(p.q[i][1])})({fmt(p.k[j][1])}) = {fmt(int(s[i, j]))}"
            for j in range(TOKENS)
        )
        steps.append(f"Row {fmt(i + 1)}: ${terms}$.")
    steps += [
        rf"So $S = {matrix(s)}$.",
        rf"\textbf{{(2)}} Scale by $1/\sqrt{{d_k}} = 1/\sqrt{{{fmt(D)}}} = {fmt(1 / root)}$: "
        rf"$S/\sqrt{{{fmt(D)}}} = {matrix(scaled)}$.",
        r"\textbf{(3)} Softmax along each row (over the keys, for each query): "
        r"$A_{ij} = e^{S_{ij}/\sqrt{d_k}} / \sum_{l} e^{S_{il}/\sqrt{d_k}}$.",
    ]
    for i in range(TOKENS):
        # Ragged right, with a hanging indent: where the line is too long for the
        # page, it wraps between the phrases instead of running into the margin.
        steps.append(
            rf"{{\raggedright\hangindent=1.5em Row {fmt(i + 1)}: exponentials~${_vec(e[i])}$, "
            rf"sum~${fmt(z[i])}$, weights~${_vec(a[i])}$.\par}}"
        )
    steps += [
        rf"So $A = {matrix(a)}$; each row sums to 1.",
        rf"\textbf{{(4)}} The second MatMul weights the value rows: $O = AV$ "
        rf"(${fmt(o.shape[0])}\times {fmt(o.shape[1])}$), $o_i = A_{{i1}}v_1 + A_{{i2}}v_2 + A_{{i3}}v_3$.",
    ]
    for i in range(TOKENS):
        terms = " + ".join(f"{fmt(a[i, j], 4)}\\,{_vec(p.v[j])}" for j in range(TOKENS))
        steps.append(f"Row {fmt(i + 1)}: ${terms} = {_vec(o[i])}$.")
    steps.append(rf"So $O = {matrix(o)}$: each output row is a convex combination of the rows of $V$.")

    answers = {
        "scores": _table(s),
        "scaled": _table(scaled),
        "weights": _table(a),
        "output": _table(o),
    }
    givens = {"figure": figure(_figure(), ALT), "Q": matrix(p.q), "K": matrix(p.k), "V": matrix(p.v)}
    return Solution(answers=answers, steps=steps, givens=givens)


def check(p: Params, s: Solution) -> dict:
    # Sizes from the params themselves: tokens (rows of Q), d_k (columns of Q and K).
    tokens, d_k, d_v = len(p.q), len(p.q[0]), len(p.v[0])
    require(all(len(row) == d_k for row in p.k) and len(p.k) == len(p.v) == tokens, "Q, K, V do not fit")
    # (1) scores by explicit loops over query i, key j and feature d.
    scores = [[sum(p.q[i][d] * p.k[j][d] for d in range(d_k)) for j in range(tokens)] for i in range(tokens)]
    # (2) scaled
    scale = math.sqrt(d_k)
    scaled = [[scores[i][j] / scale for j in range(tokens)] for i in range(tokens)]
    # (3) softmax over each row, with the row maximum subtracted (a different route)
    weights = []
    for i in range(tokens):
        top = max(scaled[i])
        ex = [math.exp(x - top) for x in scaled[i]]
        total = math.fsum(ex)
        weights.append([x / total for x in ex])
        require(abs(math.fsum(weights[i]) - 1) < 1e-12, f"attention row {i + 1} does not sum to 1")
    # The unshifted exponentials and their row sums the steps print, by math.exp one
    # entry at a time; normalised, they must give the shifted route's weights.
    exps = [[math.exp(x) for x in row] for row in scaled]
    sums = [math.fsum(row) for row in exps]
    for i in range(tokens):
        agree(f"weights row {i + 1} (unshifted)", [x / sums[i] for x in exps[i]], weights[i])
    # (4) output rows as weighted sums of value rows
    output = [
        [math.fsum(weights[i][j] * p.v[j][d] for j in range(tokens)) for d in range(d_v)]
        for i in range(tokens)
    ]
    for i in range(tokens):
        for d in range(d_v):
            col = [p.v[j][d] for j in range(tokens)]
            require(min(col) - 1e-12 <= output[i][d] <= max(col) + 1e-12, "output outside the value range")

    def table(rows):
        return [[f"row {i + 1}"] + list(rows[i]) for i in range(tokens)]

    blanks = [("scores", scores), ("scaled", scaled), ("weights", weights), ("output", output)]
    for key, values in blanks:
        agree(key, table(values), s.answers[key])

    # The small integers the steps print (row labels, shapes, d_k) are all vouched
    # somewhere (3 tokens, d_k = 2, the blank labels up to 4), so validate's reading cannot
    # tell one from another: check them in place. Each per-row pass counts the queries
    # 1..tokens, the shapes are those of S and O, and every root is of d_k.
    rows = list(range(1, tokens + 1))
    text = "\n".join(s.steps)
    num = r"(?:\\ensuremath\{)?(-?\d+)\}?"
    labels = [int(x) for x in re.findall(rf"Row\s*{num}", text)]
    require(
        bool(labels) and labels == rows * (len(labels) // tokens),
        f"the steps label their rows {labels}, not 1..{tokens} in each pass",
    )
    shapes = [(int(a), int(b)) for a, b in re.findall(rf"\(\${num}\s*\\times\s*{num}\$\)", text)]
    want = [(tokens, len(p.k)), (tokens, d_v)]
    require(shapes == want, f"the steps give the shapes {shapes}, not {want} (S, then O)")
    roots = [int(x) for x in re.findall(rf"\\sqrt\s*\{{{num}", text)]
    require(bool(roots) and all(r == d_k for r in roots), f"the steps take roots of {roots}, not of {d_k}")
    # Blank (1)'s dot products as the steps write them, (a)(b) + (c)(d) = e: each product
    # is of a query entry and a key entry, in order, and its arithmetic holds.
    products = re.findall(rf"\({num}\)\({num}\) \+ \({num}\)\({num}\) = {num}", text)
    want_terms = [
        (p.q[i][0], p.k[j][0], p.q[i][1], p.k[j][1], scores[i][j])
        for i in range(tokens)
        for j in range(tokens)
    ]
    require(
        [tuple(int(x) for x in t) for t in products] == want_terms,
        "the steps' dot products for blank (1) are not q_i . k_j, row by row",
    )
    return {
        "rows": rows,  # the row labels, one per query
        "blanks": list(range(1, len(blanks) + 1)),  # the figure's arrows (1) to (4), one per blank
        "shape_S": [tokens, len(p.k)],  # QK^T: queries by keys
        "shape_O": [tokens, d_v],  # AV: queries by value features
        "d_k": d_k,
        "inv_sqrt_dk": 1 / scale,
        "exponentials": exps,
        "sums": sums,
    }
