"""Writers of small files in Binance's public-data-archive formats, for the user-replay tests."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

KLINE_HEADER = (
    "open_time,open,high,low,close,volume,close_time,quote_volume,count,"
    "taker_buy_volume,taker_buy_quote_volume,ignore"
)
T0_MS = 1_704_096_000_000  # 2024-01-01 08:00 UTC


def kline_lines(closes: Sequence[float], *, t0_ms: int = T0_MS, micro: bool = False) -> list[str]:
    """One archive kline row per minute: open at the previous close, a wick of 0.1 % either side."""
    rows = []
    prev = closes[0]
    for i, c in enumerate(closes):
        o = prev
        hi, lo = max(o, c) * 1.001, min(o, c) * 0.999
        t = t0_ms + i * 60_000
        scale = 1000 if micro else 1
        close_t = (t + 59_999) * scale + (999 if micro else 0)
        prices = f"{o:.2f},{hi:.2f},{lo:.2f},{c:.2f}"
        rows.append(f"{t * scale},{prices},12.5,{close_t},{12.5 * c:.2f},100,6.0,{6 * c:.2f},0")
        prev = c
    return rows


def write(path: Path, lines: Sequence[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


def perp_file(root: Path, symbol: str, closes: Sequence[float], *, header: bool = True) -> Path:
    p = root / "futures" / "um" / "daily" / "klines" / symbol / "1m" / f"{symbol}-1m-2024-01-01.csv"
    return write(p, ([KLINE_HEADER] if header else []) + kline_lines(closes))


def spot_file(root: Path, symbol: str, closes: Sequence[float]) -> Path:
    """Spot files from 2025 on stamp microseconds and have no header: written so, to read so."""
    p = root / "spot" / "daily" / "klines" / symbol / "1m" / f"{symbol}-1m-2024-01-01.csv"
    return write(p, kline_lines(closes, micro=True))


def funding_file(root: Path, symbol: str, rates: Sequence[float], *, end_ms: int = T0_MS) -> Path:
    """Settlements every 8 h, the last at `end_ms`."""
    p = root / "futures" / "um" / "monthly" / "fundingRate" / symbol / f"{symbol}-fundingRate-2023-12.csv"
    n = len(rates)
    rows = [f"{end_ms - (n - 1 - i) * 8 * 3_600_000 + 3},8,{r:.8f}" for i, r in enumerate(rates)]
    return write(p, ["calc_time,funding_interval_hours,last_funding_rate", *rows])
