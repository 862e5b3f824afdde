"""Generator for vit-attention-weights (paper-b:9).

solve uses the closed form images x heads x N^2; check cuts a dummy image into patches
with reshape, runs one multi-head softmax attention on random tokens and counts the
entries of the attention tensor it actually computes. It returns what the steps print
beyond the answers, read off those arrays: the patches per side (the patch rows the
image holds), one head's attention-matrix entries, and the token count with the class
token prepended.

mistakes declares the usual slips: patches counted per side (R/P) or as R^2/P (the patch
area not squared); N tokens instead of N^2 query-key pairs (the same number as taking
N = R/P per side, so one name covers both); the heads or the images forgotten; for the
total without a class token, the class token counted ((N+1)^2, the other reading); for
the total with one, the class token forgotten, N+1 instead of (N+1)^2 and N^2 + 1. The
question is per layer and names no layer count, so no layer mistake is declared.
"""

import numpy as np
from pydantic import Field, model_validator

from qbgen import authoring
from qbgen.authoring import Solution, agree, fmt

IMAGES = [100, 500, 1000, 2000, 5000]
RESOLUTIONS = [32, 64, 96, 128, 224, 256]
PATCHES = [4, 8, 16, 32]
HEADS = [4, 6, 8, 12, 16]


class Params(authoring.Params):
    images: int = Field(ge=1, le=10**6)
    resolution: int = Field(ge=4, le=1024)
    patch: int = Field(ge=2, le=512)
    heads: int = Field(ge=1, le=64)

    @model_validator(mode="after")
    def _divides(self) -> "Params":
        if self.resolution % self.patch:
            raise ValueError("the patch size must divide the resolution")
        if (self.resolution // self.patch) ** 2 < 4:
            raise ValueError("fewer than 4 patches per image")
        return self


def sample(rng: np.random.Generator) -> Params:
    resolution = int(rng.choice(RESOLUTIONS))
    patches = [p for p in PATCHES if resolution % p == 0 and (resolution // p) ** 2 >= 4]
    # Keep the token count modest (at most 256 patches), as a hand calculation would.
    patches = [p for p in patches if (resolution // p) ** 2 <= 256]
    return Params(
        images=int(rng.choice(IMAGES)),
        resolution=resolution,
        patch=int(rng.choice(patches)),
        heads=int(rng.choice(HEADS)),
    )


def solve(p: Params) -> Solution:
    side = p.resolution // p.patch
    n = side * side
    per_image = p.heads * n * n
    per_image_cls = p.heads * (n + 1) ** 2
    total, total_cls = p.images * per_image, p.images * per_image_cls
    steps = [
        rf"Patches per image: $N = ({p.resolution}/{p.patch})^2 = {fmt(side)}^2 = {fmt(n)}$ tokens.",
        rf"One head's attention matrix $\mathrm{{softmax}}(QK^\top/\sqrt{{d_k}})$ is $N\times N$: "
        rf"${fmt(n)}^2 = {fmt(n * n)}$ weights.",
        rf"Per image, {p.heads} heads: ${p.heads} \times {fmt(n * n)} = {fmt(per_image)}$.",
        rf"Dataset: ${fmt(p.images)} \times {fmt(per_image)} = {fmt(total)}$ (per encoder layer).",
        rf"With a class token, $N+1 = {fmt(n + 1)}$ tokens: ${fmt(p.images)} \times {p.heads} \times "
        rf"{fmt(n + 1)}^2 = {fmt(total_cls)}$.",
    ]
    answers = {
        "patches": n,
        "weights_per_image": per_image,
        "total": total,
        "total_cls": total_cls,
    }
    return Solution(answers=answers, steps=steps)


def mistakes(p: Params) -> dict[str, dict[str, float]]:
    side = p.resolution // p.patch
    n, m, b, i = side * side, side * side + 1, p.heads, p.images
    return {
        "patches": {
            "patches per side (R/P), not (R/P)^2": side,
            "R^2/P (the patch area not squared)": p.resolution**2 // p.patch,
        },
        "weights_per_image": {
            "N, not N^2 (tokens counted, or N = R/P per side)": b * n,
            "heads forgotten": n * n,
        },
        "total": {
            "N, not N^2 (tokens counted, or N = R/P per side)": i * b * n,
            "heads forgotten": i * n * n,
            "images forgotten (one image)": b * n * n,
            "class token counted: (N+1)^2 (the other reading)": i * b * m * m,
        },
        "total_cls": {
            "class token forgotten (N^2, not (N+1)^2)": i * b * n * n,
            "N+1 tokens, not (N+1)^2 pairs": i * b * m,
            "class token added once: N^2 + 1": i * b * (n * n + 1),
            "heads forgotten": i * m * m,
            "images forgotten (one image)": b * m * m,
        },
    }


def _attention_entries(p: Params, cls_token: bool) -> dict[str, int]:
    rng = np.random.default_rng(0)
    # Single precision: the counts are what is checked, and a roster builds it per student.
    image = rng.random((p.resolution, p.resolution, 3), dtype=np.float32)
    side = len(image[:: p.patch])  # one row of patches starts every P pixel rows
    # The reshape fails unless side patches of P pixels tile the image exactly.
    patches = image.reshape(side, p.patch, side, p.patch, 3).swapaxes(1, 2).reshape(side * side, -1)
    d_head = 4
    tokens = rng.standard_normal((patches.shape[0], p.heads * d_head), dtype=np.float32)
    if cls_token:
        tokens = np.vstack([rng.standard_normal((1, tokens.shape[1]), dtype=np.float32), tokens])
    q = tokens.reshape(len(tokens), p.heads, d_head).transpose(1, 0, 2)
    # The weights are softmax(QK^T / sqrt(d)) row by row: softmax keeps the shape, so the
    # scores' entries are the weights' (and exponentiating them would only cost time).
    weights = q @ q.transpose(0, 2, 1) / np.sqrt(d_head)
    return {
        "side": side,
        "patches": patches.shape[0],
        "tokens": len(tokens),
        "per_head": weights[0].size,
        "per_image": weights.size,
    }


def check(p: Params, s: Solution) -> dict:
    plain_run = _attention_entries(p, cls_token=False)
    cls_run = _attention_entries(p, cls_token=True)
    agree("patches", plain_run["patches"], s.answers["patches"])
    agree("weights_per_image", plain_run["per_image"], s.answers["weights_per_image"])
    agree("total", p.images * plain_run["per_image"], s.answers["total"])
    agree("total_cls", p.images * cls_run["per_image"], s.answers["total_cls"])
    return {
        "patches_per_side": plain_run["side"],
        "weights_per_head": plain_run["per_head"],
        "tokens_cls": cls_run["tokens"],
    }
