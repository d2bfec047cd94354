"""A CSV of prices, oldest first, for `perpmon backtest-var`: exports come in every order and format.

Why the care: a VaR backtest on returns taken in the wrong order is a plausible-looking wrong
verdict. Exports are often newest first, and one file can mix date formats (the shared Binance
daily history has `2026-02-27` beside `2/25/2026`), so rows are ordered by their parsed date, never
by text. Slash dates are month/day/year unless a first field above 12 shows the file is day-first.
A row whose price is not a positive number, or whose date cannot be read, is dropped and counted.
"""

from __future__ import annotations

import csv
import math
from datetime import UTC, datetime
from pathlib import Path

from monitor.errors import ConfigError

__all__ = ["DATE_COLUMNS", "PriceSeries", "parse_stamp", "read_prices"]

# the first of these a header has is the date column; `*_ms` columns are read as milliseconds
DATE_COLUMNS = (
    "date", "datetime", "time", "timestamp", "open_time", "open_time_ms", "open_time_utc", "calc_time",
    "close_time", "unix",
)  # fmt: skip


class PriceSeries:
    """Prices oldest first, their date labels and Unix seconds (empty without a date column), rows dropped."""

    def __init__(
        self, prices: list[float], dates: list[str], dropped: int, times: list[float] | None = None
    ) -> None:
        self.prices, self.dates, self.dropped = prices, dates, dropped
        self.times = times or []


def unix_seconds(stamp: float) -> float:
    """A numeric stamp in seconds, whatever its unit: exports mix s, ms and µs (even within one file).

    Seconds reach 1e11 only in the year 5138, so each larger power of 1,000 is the next unit down.
    """
    for limit, per_s in ((1e17, 1e9), (1e14, 1e6), (1e11, 1e3)):
        if abs(stamp) >= limit:
            return stamp / per_s
    return stamp


def parse_stamp(stamp: str, *, day_first: bool = False) -> float | None:
    """Seconds (or the file's numeric unit) of an ISO date, a slash date or a number; None: unreadable."""
    s = stamp.strip()
    try:
        return float(s)  # unix seconds or milliseconds: one unit per file
    except ValueError:
        pass
    try:
        dt = datetime.fromisoformat(s.replace("Z", "+00:00"))
        return (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).timestamp()
    except ValueError:
        pass
    date, _, clock = s.partition(" ")
    parts = date.split("/")
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        return None
    a, b, year = (int(p) for p in parts)
    month, day = (b, a) if day_first else (a, b)
    hms = [int(x) for x in clock.split(":")] if clock and all(x.isdigit() for x in clock.split(":")) else []
    hour, minute, second = (*hms[:3], 0, 0, 0)[:3]
    try:
        return datetime(year, month, day, hour, minute, second, tzinfo=UTC).timestamp()
    except ValueError:
        return None


def _day_first(stamps: list[str]) -> bool:
    firsts = [s.strip().split("/")[0] for s in stamps if s.count("/") == 2]
    return any(f.isdigit() and int(f) > 12 for f in firsts)


def read_prices(path: str, column: str) -> PriceSeries:
    """Read `column` from a CSV with a header row; lines starting with '#' are comments."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError("--csv", f"cannot read {path}: {exc.strerror}") from None
    rows = list(csv.reader(line for line in text.splitlines() if line.strip() and not line.startswith("#")))
    if not rows:
        raise ConfigError("--csv", f"{path} has no header row")
    header = [h.strip().lower() for h in rows[0]]
    if column.lower() not in header:
        raise ConfigError("--column", f"no column {column!r} in {path} (columns: {', '.join(rows[0])})")
    col = header.index(column.lower())
    dcol = next((header.index(d) for d in DATE_COLUMNS if d in header), None)
    body = rows[1:]
    day_first = dcol is not None and _day_first([r[dcol] for r in body if dcol < len(r)])
    kept: list[tuple[float, str, float]] = []
    dropped = 0
    for i, row in enumerate(body):
        try:
            price = float(row[col])
        except (ValueError, IndexError):
            price = math.nan
        label = row[dcol] if dcol is not None and dcol < len(row) else ""
        key = parse_stamp(label, day_first=day_first) if dcol is not None else float(i)
        if not (math.isfinite(price) and price > 0) or key is None:
            dropped += 1
            continue
        kept.append((unix_seconds(key) if dcol is not None else key, label, price))
    kept.sort(key=lambda k: k[0])
    dated = dcol is not None
    times = [k for k, _, _ in kept] if dated else []
    return PriceSeries([p for _, _, p in kept], [d for _, d, _ in kept] if dated else [], dropped, times)
