"""Venue rows → frozen msgspec structs, with the error naming the field (shared by the margin wires).

Why a helper: msgspec's lax mode turns "0.004" into 0.004 (venues send numbers as strings), but it
also accepts "nan" and "inf", and a blank "" has to mean "none" rather than 0. One conversion with
those rules keeps every margin parser from growing its own.
"""

from __future__ import annotations

import math
from typing import Any, TypeVar

import msgspec

from monitor.errors import ParseError

__all__ = ["blanks_to_none", "convert_rows", "finite_fields"]

_T = TypeVar("_T")


def finite_fields(s: msgspec.Struct) -> None:
    """Refuse "nan"/"inf" strings, which msgspec's lax mode would otherwise accept as floats."""
    for f in msgspec.structs.fields(s):
        v = getattr(s, f.name)
        if isinstance(v, float) and not math.isfinite(v):
            raise ValueError(f"{f.encode_name}={v} is not finite")


def blanks_to_none(x: Any) -> Any:
    """ "" → None all the way down: the venue's "does not apply", never a 0."""
    if x == "":
        return None
    if isinstance(x, dict):
        return {k: blanks_to_none(v) for k, v in x.items()}
    if isinstance(x, list):
        return [blanks_to_none(v) for v in x]
    return x


def convert_rows(rows: list[Any], cls: type[_T], what: str, venue: str = "the venue") -> list[_T]:
    """Each row as `cls` (lax: numeric strings become numbers); a bad row: `ParseError` naming the field."""
    out: list[_T] = []
    for i, r in enumerate(rows):
        try:
            out.append(msgspec.convert(r, cls, strict=False))
        except msgspec.ValidationError as exc:  # "Expected `float`, got `null` - at `$.avgPrice`"
            blank = f' ({venue} sent "")' if "got `null`" in str(exc) else ""
            raise ParseError("schema", f"{what} row {i}: {exc}{blank}") from None
    return out
