"""Generator for cnn-table (paper-a:2c).

The parameters are the input image (a square side and a channel count) and the layer
list, written as in the paper (``CONV-K-N``, ``POOL-K``, ``FC-N``). solve propagates the
feature-map size with the closed forms (H - K + 1 for a convolution, H / K for a pooling
layer) and counts K*K*C*N weights and N biases per convolution. check takes another
route: it pushes a zero image through the network, cutting it into windows with NumPy's
``sliding_window_view`` (every window the layer visits), builds every weight and bias
array with ``np.zeros`` of the right shape, applies them to one window to make sure the
shapes fit, and counts entries with ``.size``. It returns what the steps print, read off
those arrays: every map's side and depth (``x.shape``), the kernel and pooling-window
sides (the weight and window shapes), the flattened FC inputs and FC outputs
(``.size``), and the weight and bias totals (summed ``.size``).

mistakes declares the total parameter count that the usual slips give, each carried
through the network as a student would: H - K for a convolution (the +1 forgotten),
"same" padding (a convolution keeps the side), the pooling stride ignored (H - K + 1
for a pooling layer; a side that does not divide rounds down), the input depth
forgotten (K*K*N weights), the FC layer counted from the depth alone (C*N, no
flattening), and the biases forgotten.
"""

import re

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from pydantic import Field, model_validator

from qbgen import authoring
from qbgen.authoring import Solution, agree, fmt, require

SIDES = [32, 48, 64, 96, 128, 160, 192, 224, 256]
KERNELS = [3, 5, 7, 9, 11]
FILTERS = [8, 16, 32, 64, 128]
CLASSES = [2, 3, 4, 5, 10]
BLOCKS = 3  # conv + pool blocks before the classifier, as in the paper

_LAYER = re.compile(r"^(CONV)-(\d+)-(\d+)$|^(POOL)-(\d+)$|^(FC)-(\d+)$")


def parse(layer: str) -> tuple:
    """('CONV', K, N), ('POOL', K) or ('FC', N)."""
    m = _LAYER.match(layer)
    if not m:
        raise ValueError(f"not a layer: {layer!r} (use CONV-K-N, POOL-K or FC-N)")
    if m.group(1):
        return ("CONV", int(m.group(2)), int(m.group(3)))
    if m.group(4):
        return ("POOL", int(m.group(5)))
    return ("FC", int(m.group(7)))


class Params(authoring.Params):
    side: int = Field(ge=8, le=512, description="height = width of the input image")
    channels: int = Field(ge=1, le=4, description="input channels (1 grey, 3 RGB)")
    layers: list[str] = Field(min_length=2, max_length=12, description="CONV-K-N, POOL-K, FC-N")

    @model_validator(mode="after")
    def _well_posed(self) -> "Params":
        h, seen_fc = self.side, False
        for layer in self.layers:
            kind, *args = parse(layer)
            if kind == "FC":
                if args[0] < 1:
                    raise ValueError(f"{layer}: no neurons")
                seen_fc = True
                continue
            if seen_fc:
                raise ValueError(f"{layer} after a fully-connected layer")
            k = args[0]
            if kind == "CONV":
                if not (1 <= k < h) or args[1] < 1:
                    raise ValueError(f"{layer} does not fit a {h}x{h} map")
                h = h - k + 1
            else:
                if k < 2 or h % k:
                    raise ValueError(f"{layer} does not divide a {h}x{h} map")
                h //= k
        if not seen_fc or parse(self.layers[-1])[0] != "FC":
            raise ValueError("the network must end with a fully-connected layer")
        if h < 2:
            raise ValueError("the last feature map is smaller than 2x2")
        return self


def sample(rng: np.random.Generator) -> Params:
    while True:
        side = int(rng.choice(SIDES))
        filters = sorted(int(f) for f in rng.choice(FILTERS, size=BLOCKS))
        h, layers = side, []
        for n in filters:
            pools = [2, 3] if rng.random() < 0.2 else [2]
            choice = None
            for pool in pools + [q for q in (2, 3) if q not in pools]:
                ks = [
                    k for k in KERNELS if k <= h // 2 and (h - k + 1) % pool == 0 and (h - k + 1) // pool >= 2
                ]
                if ks:
                    choice = (int(rng.choice(ks)), pool)
                    break
            if choice is None:
                break
            k, pool = choice
            layers += [f"CONV-{k}-{n}", f"POOL-{pool}"]
            h = (h - k + 1) // pool
        else:
            layers.append(f"FC-{int(rng.choice(CLASSES))}")
            return Params(side=side, channels=int(rng.choice([1, 3])), layers=layers)


def _dims(shape: tuple) -> str:
    return "$" + r" \times ".join(str(d) for d in shape) + "$"


def solve(p: Params) -> Solution:
    h, c = p.side, p.channels
    rows = [["INPUT", _dims((h, h, c)), 0, 0]]
    steps = [
        rf"Input: ${fmt(h)} \times {fmt(h)} \times {fmt(c)}$. Output side of a convolution "
        r"(stride 1, padding 0): $H - K + 1$; of a pooling layer (stride $K$): $H / K$."
    ]
    weights, biases = [], []
    for layer in p.layers:
        kind, *args = parse(layer)
        if kind == "CONV":
            k, n = args
            out = h - k + 1
            w, b = k * k * c * n, n
            steps.append(
                rf"{layer}: ${fmt(h)} - {fmt(k)} + 1 = {fmt(out)}$, "
                rf"map ${fmt(out)} \times {fmt(out)} \times {fmt(n)}$; "
                rf"weights ${fmt(k)} \times {fmt(k)} \times {fmt(c)} \times {fmt(n)} = {fmt(w)}$; "
                rf"biases ${fmt(n)}$."
            )
            h, c = out, n
            rows.append([layer, _dims((h, h, c)), w, b])
        elif kind == "POOL":
            k = args[0]
            out = h // k
            w, b = 0, 0
            steps.append(
                rf"{layer}: ${fmt(h)} / {fmt(k)} = {fmt(out)}$, "
                rf"map ${fmt(out)} \times {fmt(out)} \times {fmt(c)}$ "
                r"(depth unchanged); no parameters."
            )
            h = out
            rows.append([layer, _dims((h, h, c)), w, b])
        else:
            n = args[0]
            flat = h * h * c if h else c
            w, b = flat * n, n
            src = rf"flatten ${fmt(h)} \times {fmt(h)} \times {fmt(c)} = {fmt(flat)}$" if h else f"${fmt(c)}$"
            steps.append(
                rf"{layer}: {src} inputs; "
                rf"weights ${fmt(flat)} \times {fmt(n)} = {fmt(w)}$; biases ${fmt(n)}$; output ${fmt(n)}$ "
                r"(a vector, also written $1 \times 1 \times " + fmt(n) + "$)."
            )
            h, c = 0, n
            rows.append([layer, _dims((n,)), w, b])
        weights.append(w)
        biases.append(b)
    total = sum(weights) + sum(biases)
    steps.append(
        rf"Total trainable parameters (weights $+$ biases): "
        rf"${fmt(sum(weights))} + {fmt(sum(biases))} = {fmt(total)}$."
    )
    return Solution(answers={"table": rows, "total": total}, steps=steps)


def _conv(h: int, k: int) -> int:
    return h - k + 1


def _pool(h: int, k: int) -> int:
    return h // k


def _total(p: Params, conv=_conv, pool=_pool, depth: bool = True, flatten: bool = True, biases: bool = True):
    # The total parameter count with a wrong size rule or a wrong count carried through.
    h, c, total = p.side, p.channels, 0
    for layer in p.layers:
        kind, *args = parse(layer)
        if kind == "CONV":
            k, n = args
            total += k * k * (c if depth else 1) * n + (n if biases else 0)
            h, c = conv(h, k), n
        elif kind == "POOL":
            h = pool(h, args[0])
        else:
            n = args[0]
            total += (max(h, 0) ** 2 * c if flatten else c) * n + (n if biases else 0)
    return total


def mistakes(p: Params) -> dict[str, dict[str, float]]:
    return {
        "total": {
            "H - K for a convolution (the +1 forgotten)": _total(p, conv=lambda h, k: h - k),
            '"same" padding (a convolution keeps the side)': _total(p, conv=lambda h, k: h),
            "pooling stride ignored (H - K + 1)": _total(p, pool=lambda h, k: h - k + 1),
            "input depth forgotten (K*K*N weights)": _total(p, depth=False),
            "FC from the depth alone (C*N, no flattening)": _total(p, flatten=False),
            "biases forgotten": _total(p, biases=False),
        }
    }


def check(p: Params, s: Solution) -> dict:
    x = np.zeros((p.side, p.side, p.channels), dtype=np.uint8)
    rows = [["INPUT", _dims(x.shape), 0, 0]]
    arrays = []
    # What the steps print, read off the arrays this route builds.
    sides, depths, kernels, pools, flats, outputs = [x.shape[0]], [x.shape[2]], [], [], [], []
    for layer in p.layers:
        kind, *args = parse(layer)
        if kind == "CONV":
            k, n = args
            windows = sliding_window_view(x, (k, k), axis=(0, 1))  # (H', W', C, k, k)
            weight, bias = np.zeros((k, k, x.shape[2], n)), np.zeros(n)
            one = np.einsum("ckl,klcn->n", windows[0, 0], weight) + bias  # shapes must fit
            require(one.shape == (n,), f"{layer}: a window does not fit the filters")
            x = np.zeros(windows.shape[:2] + (n,), dtype=np.uint8)
            arrays.append((weight, bias))
            kernels.append(weight.shape[0])
        elif kind == "POOL":
            k = args[0]
            windows = sliding_window_view(x, (k, k), axis=(0, 1))[::k, ::k]
            require(windows.shape[0] * k == x.shape[0], f"{layer}: windows do not tile the map")
            x = windows.max(axis=(-2, -1))
            arrays.append((np.zeros(0), np.zeros(0)))
            pools.append(windows.shape[-1])
        else:
            n = args[0]
            flat = x.reshape(-1).astype(float)
            weight, bias = np.zeros((flat.size, n)), np.zeros(n)
            x = flat @ weight + bias
            arrays.append((weight, bias))
            flats.append(flat.size)
            outputs.append(x.size)
        if x.ndim == 3:  # a feature map, not the FC layer's vector
            sides.append(x.shape[0])
            depths.append(x.shape[2])
        rows.append([layer, _dims(x.shape), arrays[-1][0].size, arrays[-1][1].size])
    table = s.answers["table"]
    require(len(table) == len(rows), f"table has {len(table)} rows, want {len(rows)}")
    for i, (want, got) in enumerate(zip(rows, table, strict=True)):
        agree(f"table[{i}][0]", want[0], got[0])
        agree(f"table[{i}][1]", want[1], got[1])
        agree(f"table[{i}][2]", want[2], got[2])
        agree(f"table[{i}][3]", want[3], got[3])
    n_weights = sum(w.size for w, _ in arrays)
    n_biases = sum(b.size for _, b in arrays)
    agree("total", n_weights + n_biases, s.answers["total"])
    return {
        "map_sides": sides,
        "map_depths": depths,
        "kernel_sides": kernels,
        "pool_sides": pools,
        "flattened_inputs": flats,
        "fc_outputs": outputs,
        "weights": n_weights,
        "biases": n_biases,
    }
