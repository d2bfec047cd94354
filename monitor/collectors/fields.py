"""A numeric field of a venue's reply, read once at the edge, the same way for every venue.

Venues send numbers as strings (Binance, Bybit) or numbers; a value that does not parse, or is
not finite, must not become a record: it is a `ParseError`, counted by reason and dropped, never
a NaN that a later stage could mistake for a figure it is allowed to leave out.
"""

from __future__ import annotations

import math
from typing import Any

from monitor.errors import ParseError

__all__ = ["finite", "finite_or"]


def finite(value: Any, field: str, *, positive: bool = False) -> float:
    """`value` as a finite float (and > 0 with `positive`); `field` names it in the error."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ParseError("bad_number", f"{field}={value!r}") from None
    if not math.isfinite(x) or (positive and x <= 0):
        raise ParseError("out_of_range", f"{field}={value!r}")
    return x


def finite_or(reason: str, value: Any, *, positive: bool = False) -> float:
    """`finite` for a row refused as a whole: `reason` names the row's fault, the value the detail."""
    try:
        return finite(value, "", positive=positive)
    except ParseError:
        raise ParseError(reason, repr(value)[:40]) from None
