"""Load the shipped BTC daily closes (tests/testdata/risk) for GARCH and VaR backtests."""

from __future__ import annotations

from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parents[2] / "testdata" / "risk" / "binance_spot_BTCUSDT_1d_close.csv"


def btc_daily_closes() -> np.ndarray:
    """Daily closes, oldest first (2017-08-17 → 2026-02-27; two days missing upstream in 2026-01)."""
    return np.loadtxt(DATA, delimiter=",", comments="#", skiprows=4, usecols=1)


def btc_daily_log_returns() -> np.ndarray:
    c = btc_daily_closes()
    return np.diff(np.log(c))


TESTDATA = Path(__file__).resolve().parents[2] / "testdata" / "risk"
ETH_DAILY = TESTDATA / "binance_spot_ETHUSDT_1d_close.csv"
BTC_HOURLY = TESTDATA / "binance_spot_BTCUSDT_1h_close.csv"
CRASH_MINUTES = TESTDATA / "binance_um_BTCUSDT_perp_1m_crash_windows_close.csv"
