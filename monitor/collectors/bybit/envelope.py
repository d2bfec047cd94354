"""Bybit v5's envelope and numbers, shared by its market and account parsers.

Every REST reply is an envelope (`retCode`, `retMsg`, `result`, `time`); a non-zero `retCode`
arrives with HTTP 200, so it is checked here and becomes `ParseError("venue_error")`. Numbers are
strings, and "" means "not applicable": an optional field reads NaN, a required one that is not
finite (or not positive where a price must be) is a `ParseError`, counted and dropped, never stored.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import msgspec

from monitor.collectors.fields import finite
from monitor.errors import ParseError

__all__ = ["NS_PER_MS", "decode", "optional", "result_of", "rows_of"]

NS_PER_MS = 1_000_000


def decode(raw: bytes | str) -> Any:
    try:
        return msgspec.json.decode(raw)
    except msgspec.DecodeError:
        raise ParseError("malformed_json") from None


def optional(row: Mapping[str, Any], field: str, *, positive: bool = False) -> float:
    """An optional numeric field: NaN when absent or empty (Bybit sends "" for "not applicable")."""
    value = row.get(field)
    if value is None or value == "":
        return math.nan
    return finite(value, field, positive=positive)


def result_of(body: Any, what: str) -> Mapping[str, Any]:
    """The `result` of a v5 REST envelope; a non-zero `retCode` is the venue refusing."""
    if not isinstance(body, Mapping):
        raise ParseError("schema", f"{what}: not an object")
    code = body.get("retCode")
    if code not in (0, "0"):
        raise ParseError("venue_error", f"{what}: retCode={code} {str(body.get('retMsg', ''))[:120]}")
    res = body.get("result")
    if not isinstance(res, Mapping):
        raise ParseError("schema", f"{what}: no result")
    return res


def rows_of(res: Mapping[str, Any], what: str) -> list[Mapping[str, Any]]:
    rows = res.get("list")
    if not isinstance(rows, list) or not all(isinstance(r, Mapping) for r in rows):
        raise ParseError("schema", f"{what}: result.list is not a list of objects")
    return rows
