"""Numbers as a person reads them: %, USD with thousands separators, prices, durations.

One set of formatters for the HTML page and the terminal, so both say the same thing. NaN reads
"n/a" (the renderers add why, and mark it), never a blank or a zero; +inf reads "∞".
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

from monitor.status.model import Num, as_float

__all__ = ["ago", "base", "bps", "count", "duration", "pct", "price", "ratio", "sigma", "usd", "utc_time"]

NA = "n/a"


def _special(x: float) -> str | None:
    if x != x:
        return NA
    if math.isinf(x):
        return "∞" if x > 0 else "-∞"
    return None


def pct(v: Num, decimals: int = 2, *, signed: bool = False) -> str:
    """A fraction as a percentage: 0.0492 → "4.92 %"."""
    x = as_float(v)
    s = _special(x)
    if s is not None:
        return s
    sign = "+" if signed and x > 0 else ""
    return f"{sign}{x * 100:,.{decimals}f} %"


def usd(v: Num, *, signed: bool = False) -> str:
    """Dollars with thousands separators; cents only below 1,000 (they matter there)."""
    x = as_float(v)
    s = _special(x)
    if s is not None:
        return s
    sign = "-" if x < 0 else ("+" if signed and x > 0 else "")
    a = abs(x)
    if a == 0:
        return "$0"
    body = f"{a:,.0f}" if a >= 1000 else f"{a:,.2f}"
    return f"{sign}${body}"


def price(v: Num) -> str:
    """A price with five significant digits at least, two decimals at least, eight at most.

    Figures do not carry the symbol's tick, and a fixed number of decimals either hides a
    0.000123 memecoin or prints BTC to the sub-cent; five significant digits tell both apart.
    """
    x = as_float(v)
    s = _special(x)
    if s is not None:
        return s
    if x == 0:
        return "0.00"
    digits = math.floor(math.log10(abs(x))) + 1
    decimals = min(8, max(2, 5 - digits))
    return f"{x:,.{decimals}f}"


def base(v: Num) -> str:
    """A quantity in base units, signed: short legs read negative, up to six decimals."""
    x = as_float(v)
    s = _special(x)
    if s is not None:
        return s
    text = f"{x:,.6f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def ratio(v: Num, decimals: int = 3) -> str:
    """A plain ratio (margin ratio: 1 liquidates)."""
    x = as_float(v)
    s = _special(x)
    return s if s is not None else f"{x:.{decimals}f}"


def sigma(v: Num) -> str:
    x = as_float(v)
    s = _special(x)
    return s if s is not None else f"{x:.1f} σ"


def bps(v: Num) -> str:
    x = as_float(v)
    s = _special(x)
    return s if s is not None else f"{x:+,.1f} bp"


def duration(seconds: float) -> str:
    """A span at the precision that matters: "0.4 s", "42 s", "4 min 05 s", "2 h 03 min", "3 d 4 h"."""
    s = _special(seconds)
    if s is not None:
        return s
    neg, t = seconds < 0, abs(seconds)
    if t < 10:
        text = f"{t:.1f} s"
    elif t < 60:
        text = f"{t:.0f} s"
    elif t < 3600:
        m, sec = divmod(int(t), 60)
        text = f"{m} min {sec:02d} s" if sec else f"{m} min"
    elif t < 86400:
        h, rest = divmod(int(t), 3600)
        text = f"{h} h {rest // 60:02d} min" if rest // 60 else f"{h} h"
    else:
        d, rest = divmod(int(t), 86400)
        text = f"{d} d {rest // 3600} h" if rest // 3600 else f"{d} d"
    return f"-{text}" if neg else text


def count(n: int, noun: str) -> str:
    """ "1 position", "1,000 positions"."""
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


def ago(event_ns: int, now_ns: int) -> str:
    """How long before `now_ns`: "12 s ago"."""
    return f"{duration((now_ns - event_ns) / 1e9)} ago"


def utc_time(ns: int, *, date: bool = False) -> str:
    """A wall time in UTC, to the second (a desk across time zones reads one clock)."""
    t = datetime.fromtimestamp(ns / 1e9, tz=UTC)
    return t.strftime("%Y-%m-%d %H:%M:%S UTC" if date else "%H:%M:%S")
