"""Number quantizing and formatting shared by every payload the simulator publishes.

The venue sends decimal strings; a client parses them back into floats. The engine keeps every
published input and figure quantized to 8 decimal places, so `float(published_string)` is exactly
the engine's float and a test can compare the two to the last bit.
"""

from __future__ import annotations

__all__ = ["DP", "f8", "fnum", "q8"]

DP = 8


def q8(x: float) -> float:
    """Round to 8 decimal places; `round` is correctly rounded, so the result re-parses to itself."""
    r = round(x, DP)
    return 0.0 if r == 0 else r  # no "-0.00000000"


def f8(x: float) -> str:
    """The venue's fixed 8-decimal form ("31967.27000000")."""
    return f"{q8(x):.{DP}f}"


def fnum(x: float) -> str:
    """The short decimal form the venue uses for amounts ("0.009", "-1.5", "0")."""
    s = f8(x).rstrip("0").rstrip(".")
    return s if s not in ("", "-0") else "0"
