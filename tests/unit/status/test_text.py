"""`perpmon status` text: the same sections and formats as the page, aligned, NaN with its reason."""

from __future__ import annotations

import os
from pathlib import Path

from monitor.records import AlertState, Severity
from monitor.status.build import build_status
from monitor.status.columns import BAR_CELLS, gauge_text
from monitor.status.text import render_text
from tests.unit.status.desk import NAN, T0, Book, alert
from tests.unit.status.test_build import NEAR_RULES, _desk

S = 1_000_000_000


def _text() -> str:
    b = _desk()
    b.feed("binance", "mark:BTCUSDT", age=0.2, stale=False)
    b.feed("bybit", "mark:ETHUSDT", age=42.0, stale=True, reason="silent")
    firing = [alert("MarginRatio", Severity.CRITICAL, venue="binance", account="degen", at_ns=T0 - 125 * S)]
    recent = [
        alert(
            "MarginRatio",
            Severity.WARNING,
            venue="binance",
            account="hedge",
            state=AlertState.RESOLVED,
            at_ns=T0 - 30 * S,
        )
    ]
    return render_text(build_status(b.figures(T0 - 300_000_000), firing, recent, T0))


def test_the_first_lines_say_how_old_the_figures_are_and_what_fires() -> None:
    lines = _text().splitlines()
    assert lines[0] == "perpmon status · figures of 2026-12-07 23:59:59 UTC (0.3 s old)"
    assert lines[1] == "FIRING: 1 critical · stale feeds: 1 of 2 · 1 position without a liquidation distance"
    assert lines[4:6] == [
        "  CRITICAL MarginRatio  binance degen  since 2 min 5 s",
        "      MarginRatio on binance degen",
    ]


def test_positions_are_a_table_in_danger_order_with_human_numbers() -> None:
    text = _text()
    block = text.split("Positions by distance to liquidation\n", 1)[1].split("\n\n", 1)[0].splitlines()
    intro, head, rows = block[0], block[1], block[2:]
    assert intro == "  No thresholds on the bars: this page was not given the daemon's rules."
    assert head.split()[:4] == ["Account", "Position", "To", "liquidation"]
    assert [r.split()[2] for r in rows] == ["iso", "degen", "hedge", "far"]
    degen = rows[1]
    assert "5.00 %" in degen and "40,000.0" in degen and "38,000.0" in degen and "45.00 %" in degen
    assert degen.rstrip().endswith("σ: no_volatility")
    assert "unknown: no_mark" in rows[0] and "Liq. price: missing_tier" in rows[0]
    assert "∞" in rows[3]
    # right-aligned numbers: every row's Mark cell ends in the same column as its header
    end = head.index("Mark") + len("Mark")
    assert all(r[end - 1] != " " and r[end] == " " for r in rows)


def test_stale_feeds_and_resolved_transitions_read_as_such() -> None:
    text = _text()
    assert "  bybit · mark:ETHUSDT    STALE: silent      42 s ago" in text
    assert "  RESOLVED WARNING  MarginRatio  binance hedge  23:59:30 (30 s ago)" in text


def test_a_long_list_says_how_many_are_not_shown() -> None:
    b = Book()
    for i in range(120):
        b.position("binance", "u", f"S{i:03d}USDT", qty=1.0, mark=10.0, lp=5.0, distance=0.5 + i / 1000)
    text = render_text(build_status(b.figures(), [], [], T0, limit=10))
    assert "Positions by distance to liquidation (worst 10 of 120)" in text
    assert "  … and 110 more" in text
    assert text.count("S0") == 20  # ten positions and their ten markets, no more


def test_before_the_first_tick_it_says_so() -> None:
    text = render_text(build_status(None, [], [], T0))
    assert text.startswith("perpmon status: no evaluation yet")
    assert "Firing: none" in text and "no positions" in text


GOLDEN = Path(__file__).resolve().parents[2] / "testdata" / "golden" / "status" / "perpmon-status.txt"


def test_the_terminal_page_with_bars_and_funding_matches_golden() -> None:
    """Every bar state (past, unknown, critical, warning, clear, not liquidatable) with its rule
    marks, and each leg's next funding, as reviewed; regenerate after an intended change with
    `PERPMON_UPDATE_GOLDEN=1 pytest tests/unit/status/test_text.py` and read the diff."""
    b = _desk()
    b.position("binance", "gone", "BTCUSDT", qty=1.5, mark=40_000.0, lp=NAN, distance=0.0, why="past")
    b.position(
        "binance", "cash", "BTCUSDT", qty=-0.5, mark=40_000.0, lp=NAN, distance=NAN, why="not_liquidatable"
    )
    b.position("binance", "calm", "BTCUSDT", qty=0.25, mark=40_000.0, lp=20_000.0, distance=0.5, sigma=4.2)
    b.add("funding_next_timestamp_seconds", T0 / 1e9 - 2, venue="bybit", symbol="ETHUSDT")  # just settled
    page = build_status(b.figures(T0 - 300_000_000), [], [], T0, rules=NEAR_RULES)
    text = render_text(page)
    if os.environ.get("PERPMON_UPDATE_GOLDEN"):
        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        GOLDEN.write_text(text, encoding="utf-8")
    assert GOLDEN.read_text(encoding="utf-8") == text, (
        "the terminal page changed: regenerate and read the diff"
    )


def test_the_bar_fills_to_the_distance_and_stops_short_of_the_level_it_is_inside() -> None:
    """`│` marks each level; a leg inside the critical level never reaches that level's mark."""
    page = build_status(_desk().figures(), [], [], T0, rules=NEAR_RULES)
    bars = {p.account: gauge_text(p).split(" ", 1) for p in page.positions}
    assert len(bars["degen"][0]) == BAR_CELLS + 2  # two marks: warning at 25 %, critical at 10 %
    assert bars["degen"][0].index("│") > bars["degen"][0].rindex("▇")
    assert bars["degen"][1] == "5.00 % · σ n/a · critical < 10.00 %"
    assert set(bars["iso"][0]) == {"░"} and bars["iso"][1] == "unknown: no_mark"
    assert bars["hedge"][0].count("▇") == round(0.4 * BAR_CELLS)  # 20 % of a 50 % scale
