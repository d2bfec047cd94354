"""Numbers as a desk reads them: percentages, dollars with separators, prices, durations.

Why one module: an alert on a lock screen, the console log and the what-if report must write
`4.92 %`, `$12,345` and `2 h 13 min` the same way; a raw `0.04919650442961698` is a number a
person has to decode at 3 a.m. Every function is pure and total: NaN reads `n/a` and ±inf
reads `∞`/`-∞` (a margin ratio past liquidation is +inf, a value, not an error).

Prices: written with the decimals of the symbol's tick (the venue's instrument metadata,
`records.Instrument`): BTCUSDT's 0.1 → `29,829.3`, a 0.0001 tick → `0.1235`, a tick of 5 → whole
units; the digits the venue's prices move by. The tick is a number: Binance writes BTCUSDT's as "0.10"
and SOLUSDT's as "0.0100", leftovers of ticks raised over the years, and spot pads every tick to
8 places; a written zero is a digit that never moves. The value is not moved onto the tick: a
venue's prices already sit on it, and a computed one (a liquidation price) is rounded to the
tick's decimals, not snapped to a grid it was never on. Without a tick (metadata not arrived) a
price is written at six significant digits, which matches the tick of every listed USDT
perpetual from BTC (0.1 at ~10⁴–10⁵) down to the 10⁻⁴-priced contracts.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal

__all__ = [
    "base_asset",
    "by_unit",
    "duration",
    "flow",
    "number",
    "pct",
    "price",
    "quantity",
    "sigma",
    "tick_decimals",
    "until",
    "usd",
]

_QUOTES = ("USDT", "USDC", "FDUSD", "BUSD", "USD")
_DELIVERY = re.compile(r"_(PERP|\d{6})$")  # as `evaluation.leg_exposure`: COIN-M perpetual, quarterly


def _special(x: float) -> str | None:
    if math.isnan(x):
        return "n/a"
    if math.isinf(x):
        return "∞" if x > 0 else "-∞"
    return None


def number(x: float, sig: int = 6, *, strip: bool = True) -> str:
    """`x` at `sig` significant digits with thousands separators (`1,234.5`), trailing zeros
    stripped unless `strip` is False (a price keeps them: `48,117.0` beside `36,512.3`)."""
    if (s := _special(x)) is not None:
        return s
    if x == 0:
        return "0"
    digits = max(0, sig - 1 - math.floor(math.log10(abs(x))))
    text = f"{x:,.{digits}f}"
    if strip and "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def pct(x: float) -> str:
    """A fraction as a percentage at a precision that shows its size: 52.0 %, 4.92 %, 0.0100 %."""
    if (s := _special(x)) is not None:
        return s
    p = x * 100.0
    a = abs(p)
    if a >= 10 or a == 0:
        text = f"{p:,.1f}"
    elif a >= 1:
        text = f"{p:.2f}"
    else:
        # three significant digits for small rates (funding per interval: 0.0100 %)
        text = f"{p:.{max(2, 2 - math.floor(math.log10(a)))}f}"
    return f"{text} %"


def usd(x: float) -> str:
    """Dollars with separators: `$12,345` (whole dollars from 1,000 up), `$512.30`, `-$1,234`."""
    if (s := _special(x)) is not None:
        return s if s == "n/a" else s.replace("∞", "$∞")
    sign = "-" if x < 0 else ""
    a = abs(x)
    text = f"{a:,.0f}" if a >= 1000 else f"{a:,.2f}"
    return f"{sign}${text}"


def tick_decimals(tick: float | None) -> int | None:
    """The decimals of a tick: 0.1 → 1, 0.0001 → 4, 1e-8 → 8, 0.25 → 2, 5 → 0.

    Read from the float's shortest decimal form (`repr`), which is the venue's string without
    its padding. None for no tick, or one that is not a positive finite number: a price then
    falls back to significant digits rather than to a wrong precision.
    """
    if tick is None or not (0 < tick < math.inf):
        return None
    exponent = Decimal(repr(float(tick))).normalize().as_tuple().exponent
    assert isinstance(exponent, int)  # finite: never 'n', 'N' or 'F'
    return max(0, -exponent)


def price(x: float, tick: float | None = None) -> str:
    """A price with its tick's decimals (`36,512.3` at 0.1, `0.1235` at 0.0001), else six
    significant digits."""
    if (s := _special(x)) is not None:
        return s
    decimals = tick_decimals(tick)
    if decimals is None:
        return number(x, 6, strip=False)
    text = f"{x:,.{decimals}f}"
    return text[1:] if text.startswith("-") and not text.strip("-0.,") else text  # no "-0.0"


def quantity(x: float, asset: str = "") -> str:
    """An unsigned size with its asset: `2 BTC`, `1,000 BTC`, `0.0125 ETH`."""
    text = number(abs(x), 6)
    return f"{text} {asset}".rstrip()


def sigma(x: float) -> str:
    """A distance in forecast standard deviations: `1.34 σ`."""
    if (s := _special(x)) is not None:
        return s if s == "n/a" else f"{s} σ"
    return f"{number(x, 3)} σ"


def duration(seconds: float) -> str:
    """`45 s`, `2 min 5 s`, `8 h`, `1 d 3 h`: two units at most, the larger first."""
    if (s := _special(seconds)) is not None:
        return s
    if seconds < 0:
        return "-" + duration(-seconds)
    if seconds < 10:
        return f"{number(seconds, 2)} s"
    total = round(seconds)
    units = (("d", 86_400), ("h", 3_600), ("min", 60), ("s", 1))
    parts: list[str] = []
    for name, size in units:
        n, total = divmod(total, size)
        if n or parts:
            parts.append(f"{n} {name}")
        if len(parts) == 2:
            break
    kept = [p for p in parts if not p.startswith("0 ")]
    return " ".join(kept) or "0 s"


def until(seconds: float) -> str:
    """Time left to an event: `in 2 h 14 min`; `due now` once it is past (the venue has not yet
    told the next one), never a negative span a person has to decode."""
    if (s := _special(seconds)) is not None:
        return s
    return "due now" if seconds <= 0 else f"in {duration(seconds)}"


def flow(x: float) -> str:
    """Money from the desk's side: `receive $1,234`, `pay $8.00`; a sign a person can misread
    at 3 a.m. becomes the verb."""
    if (s := _special(x)) is not None:
        return s if s == "n/a" else ("receive $∞" if x > 0 else "pay $∞")
    if x == 0:
        return "$0.00"
    return f"{'receive' if x > 0 else 'pay'} {usd(abs(x))}"


def base_asset(symbol: str) -> str:
    """`BTCUSDT` → `BTC`: the unit a position's size is counted in; a coin-margined `BTCUSD_PERP` (or
    quarterly `BTCUSD_260925`) → `BTC`, the coin its `position_quantity` is in (issue 17)."""
    pair = _DELIVERY.sub("", symbol) if "_" in symbol else symbol
    for q in _QUOTES:
        if pair.endswith(q) and len(pair) > len(q):
            return pair[: -len(q)]
    return symbol


def by_unit(x: float, unit: str, *, asset: str = "", tick: float | None = None) -> str:
    """A figure's value by its catalogue unit (monitor/figures.py)."""
    match unit:
        case "ratio":
            return pct(x)
        case "usd":
            return usd(x)
        case "seconds":
            return duration(x)
        case "sigma":
            return sigma(x)
        case "bps":
            return _special(x) or f"{number(x, 3)} bp"
        case "base":
            return _special(x) or f"{number(x, 6)} {asset}".rstrip()
        case "count":
            return _special(x) or f"{x:,.0f}"
        case "flag":
            return _special(x) or ("yes" if x >= 0.5 else "no")
        case "price":
            return price(x, tick)
        case _:
            return number(x, 6)
