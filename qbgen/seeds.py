"""Order-independent seeds: one function derives a question instance's seed.

Room: seed derivation only; imports nothing from qbgen. The seed of a question in a
paper depends on the exam seed, the variant (or student id) and the question id, and
on nothing else, so adding, removing or reordering questions never changes another
question's numbers. Nothing in qbgen touches a global random state.
"""

from __future__ import annotations

import hashlib

import numpy as np


def _word(text: str) -> int:
    # A stable 64-bit integer for a string (Python's hash() is salted per process).
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "little")


def derive_seed(exam_seed: int, variant: str, key: str) -> int:
    """Return the 32-bit seed of `key` (a question id or a pool) in one paper."""
    seq = np.random.SeedSequence(entropy=exam_seed, spawn_key=(_word(variant), _word(key)))
    return int(seq.generate_state(1, np.uint32)[0])


def rng_for(seed: int) -> np.random.Generator:
    """Return the NumPy generator a question instance draws from."""
    return np.random.default_rng(seed)
