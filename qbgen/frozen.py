"""Deeply immutable values: the base of every model and the read-only JSON-like mapping.

Room: the `Frozen` model base and the helpers that make plain data immutable (lists to
tuples, dicts to read-only mappings) and back again for JSON. Imports nothing from
qbgen. Pydantic's `frozen=True` stops `model.x = 1` but not `model.items.append(1)`;
the types here stop both, so a later stage cannot change an earlier stage's result.
"""

from __future__ import annotations

import copyreg
from collections.abc import Mapping
from types import MappingProxyType
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, PlainSerializer, PlainValidator


class Frozen(BaseModel):
    """Base of every model: immutable, unknown fields rejected."""

    model_config = ConfigDict(frozen=True, extra="forbid")


def deep_freeze(value: Any) -> Any:
    """Return `value` with every list a tuple and every dict a read-only mapping."""
    if isinstance(value, Mapping):
        return MappingProxyType({str(k): deep_freeze(v) for k, v in value.items()})
    if isinstance(value, list | tuple):
        return tuple(deep_freeze(v) for v in value)
    return value


def read_only(items: dict[str, Any]) -> Mapping[str, Any]:
    """Return a read-only view of `items` (what an unpickled frozen mapping is made by)."""
    return MappingProxyType(items)


def _reduce_mapping(value: MappingProxyType[str, Any]) -> tuple[Any, tuple[dict[str, Any]]]:
    return read_only, (dict(value),)


# Frozen values pickle (as read-only again), so planned papers can cross processes.
copyreg.pickle(MappingProxyType, _reduce_mapping)


def thaw(value: Any) -> Any:
    """Return plain, JSON-ready data: read-only mappings to dicts, tuples to lists."""
    if isinstance(value, Mapping):
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [thaw(v) for v in value]
    return value


def _frozen_map(value: Any) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ValueError(f"expected a mapping, got {type(value).__name__}")
    frozen: Mapping[str, Any] = deep_freeze(value)
    return frozen


# A str-keyed mapping of plain values (numbers, strings, nested tuples and mappings),
# read-only all the way down; it serialises back to plain dicts and lists.
FrozenMap = Annotated[
    Mapping[str, Any],
    PlainValidator(_frozen_map),
    PlainSerializer(thaw, return_type=dict),
]
