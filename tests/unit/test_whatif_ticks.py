"""What-if prints prices at the symbol's tick, and says whose tick it is (or that none is known)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from monitor.cli import main

TIERS = "[[markets.tiers]]\nfloor = 0.0\ncap = 1000000000.0\nmmr = 0.01\n"


def _book(symbol: str, mark: float, extra: str = "", venue_sim: bool = False) -> str:
    sim = '[[venues]]\nname = "binance"\nsimulator = true\n' if venue_sim else ""
    return (
        f'{sim}[[markets]]\nsymbol = "{symbol}"\nmark = {mark}\n{extra}{TIERS}'
        '[[accounts]]\nname = "a"\n[[accounts.balances]]\nasset = "USDT"\nwallet = 1000.0\n'
        f'[[accounts.positions]]\nsymbol = "{symbol}"\nside = "long"\nsize = 10000.0\nentry = {mark}\n'
    )


def _run(tmp_path: Path, text: str, capsys: pytest.CaptureFixture[str]) -> tuple[Any, str]:
    book = tmp_path / "book.toml"
    book.write_text(text)
    assert main(["what-if", str(book), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert main(["what-if", str(book)]) == 0
    return doc, capsys.readouterr().out


def _line(out: str, name: str) -> str:
    [line] = [ln for ln in out.splitlines() if ln.strip().startswith(name + " ")]
    return line.split()[-1]


def test_the_books_tick_sets_the_decimals(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """XRPUSDT at tick 0.0001: mark and LP print with four decimals; the source is the book."""
    doc, out = _run(tmp_path, _book("XRPUSDT", 0.523456789, "tick = 0.0001\n"), capsys)
    assert doc["ticks"] == {"binance/XRPUSDT": "0.0001, the book's `tick`"}
    assert _line(out, "mark_price_usd") == "0.5235"
    assert re.fullmatch(r"0\.\d{4}", _line(out, "liquidation_price_usd"))
    assert "binance/XRPUSDT: 0.0001, the book's `tick`" in out


def test_without_a_tick_the_simulators_listing_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No tick on a real venue: the simulator's listing, said not to be the venue's; simulated: its own."""
    doc, out = _run(tmp_path, _book("BTCUSDT", 31967.27), capsys)
    assert doc["ticks"] == {
        "binance/BTCUSDT": "0.1, the simulator's listing, not the venue's: give `tick` in [[markets]]"
    }
    assert _line(out, "mark_price_usd") == "31,967.3"
    doc, _ = _run(tmp_path, _book("BTCUSDT", 31967.27, venue_sim=True), capsys)
    assert doc["ticks"] == {"binance/BTCUSDT": "0.1, the simulated venue's listing"}


def test_unknown_tick_prints_six_significant_digits(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A symbol the simulator does not list and the book gives no tick for: the fallback is said."""
    doc, out = _run(tmp_path, _book("DOGEUSDT", 0.123456789), capsys)
    assert doc["ticks"] == {"binance/DOGEUSDT": "no tick known: prices at six significant digits"}
    assert _line(out, "mark_price_usd") == "0.123457"


def test_figures_read_in_human_units(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Percentages, dollars, sizes in their asset and intervals as durations; JSON keeps the numbers."""
    doc, out = _run(tmp_path, _book("BTCUSDT", 30000.0, "funding_rate = 0.0001\n"), capsys)
    assert _line(out, "position_quantity") == "BTC" and "10,000 BTC" in out
    assert "funding_rate_ratio" in out and _line(out, "funding_rate_ratio") == "%"
    assert re.search(r"funding_interval_seconds\s+8 h", out)
    assert re.search(r"funding_rate_ratio\s+0\.0100 %", out)
    assert re.search(r"position_notional_usd\s+\$300,000,000", out)
    [ratio] = [f for f in doc["figures"] if f["name"] == "funding_rate_ratio"]
    assert ratio["value"] == 0.0001
