"""Numbers as a person reads them: %, USD with thousands separators, prices, durations.

One set of formatters for the HTML page and the terminal, so both say the same thing, and they are
the alerts' own (`monitor/human.py`) wherever a column allows: the page and the phone's alert read
a price or a dollar amount alike. Percentages keep a fixed number of decimals per column instead
(a column of 5.00 %, 20.00 % lines up; the alerts' adaptive precision would not). NaN reads "n/a"
(the renderers add why, and mark it), never a blank or a zero; +inf reads "∞".
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

from monitor import human
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
    """Dollars as the alerts write them (`monitor/human.py`), with a "+" on gains when `signed`."""
    x = as_float(v)
    text = human.usd(x)
    return f"+{text}" if signed and x > 0 else text


def price(v: Num, tick: float | None = None) -> str:
    """A price as the alerts write it: with its tick's decimals when the row knows the tick, else
    six significant digits."""
    return human.price(as_float(v), tick)


def base(v: Num) -> str:
    """A quantity in base units, signed: short legs read negative."""
    return human.number(as_float(v), 6)


def ratio(v: Num, decimals: int = 3) -> str:
    """A plain ratio (margin ratio: 1 liquidates)."""
    x = as_float(v)
    s = _special(x)
    return s if s is not None else f"{x:.{decimals}f}"


def sigma(v: Num) -> str:
    return human.sigma(as_float(v))


def bps(v: Num) -> str:
    x = as_float(v)
    s = _special(x)
    return s if s is not None else f"{x:+,.1f} bp"


def duration(seconds: float) -> str:
    """A span as the alerts write it: "0.4 s", "42 s", "4 min 5 s", "8 h", "3 d 4 h"."""
    return human.duration(seconds)


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
