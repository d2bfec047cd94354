"""Bad prices in otherwise well-formed frames: what a venue glitch looks like to a parser.

A frame stays valid JSON with the usual keys, so only a client that checks values notices: the
price fields of the stream (markPrice `p ap P i`, bookTicker `b a`, miniTicker `c o h l`) become
"NaN", a negative or a zero price; or, for `wrong_type`, JSON numbers instead of decimal strings
while the event time `E` becomes a string. Quantities, ids and symbols are left alone, so a client
cannot tell the frame apart from a good one by shape.
"""

from __future__ import annotations

from typing import Any

from monitor.sim.faults import Corruption

__all__ = ["PRICE_FIELDS", "corrupt"]

PRICE_FIELDS = frozenset({"p", "ap", "P", "i", "b", "a", "c", "o", "h", "l"})


def _price(value: str, kind: Corruption) -> Any:
    if kind == "nan":
        return "NaN"
    if kind == "zero":
        return "0.00000000"
    if kind == "negative":
        return value[1:] if value.startswith("-") else "-" + value
    return float(value)  # wrong_type: a JSON number where the venue sends a string


def _one(payload: dict[str, Any], kind: Corruption) -> dict[str, Any]:
    out = dict(payload)
    for key, value in payload.items():
        if key in PRICE_FIELDS and isinstance(value, str):
            out[key] = _price(value, kind)
    if kind == "wrong_type" and isinstance(out.get("E"), int):
        out["E"] = str(out["E"])
    return out


def corrupt(payload: Any, kind: Corruption) -> Any:
    """The same payload (an object, or an array of objects) with its prices broken as `kind` says."""
    if isinstance(payload, list):
        return [_one(p, kind) if isinstance(p, dict) else p for p in payload]
    if isinstance(payload, dict):
        return _one(payload, kind)
    return payload
