"""The status page's record from Figures: danger order, NaN never hidden, alerts on their rows, limits."""

from __future__ import annotations

import math

import msgspec
import pytest

from monitor.records import Severity
from monitor.status.build import build_status
from monitor.status.model import ABSENT, CLEAR, PAST, UNKNOWN, UNRATED, StatusPage, as_float
from tests.unit.status.desk import NAN, T0, Book, alert, rules


def _desk() -> Book:
    b = Book()
    b.position("binance", "hedge", "BTCUSDT", qty=-30.0, mark=40_000.0, lp=48_000.0, distance=0.2)
    b.position("binance", "degen", "BTCUSDT", qty=2.0, mark=40_000.0, lp=38_000.0, distance=0.05)
    b.position("bybit", "iso", "ETHUSDT", qty=10.0, mark=2_000.0, lp=NAN, distance=NAN, isolated_ratio=0.4)
    b.position("binance", "far", "BTCUSDT", qty=-0.1, mark=40_000.0, lp=math.inf, distance=math.inf)
    for name, ratio in (("hedge", 0.05), ("degen", 0.45), ("far", 0.0)):
        b.account("binance", name, ratio=ratio, balance=100_000.0, mm=100_000.0 * ratio)
    b.market("binance", "BTCUSDT", mark=40_000.0, funding=0.0001)
    b.market("bybit", "ETHUSDT", mark=2_000.0, funding=-0.0003)
    b.market("binance", "SOLUSDT", mark=150.0, funding=0.002)
    return b


def test_positions_sort_by_distance_with_unknown_first_and_unreachable_last() -> None:
    """NaN distance (no mark, missing tier) tops the list: unknown is not safe; +inf (no LP) is last."""
    page = build_status(_desk().figures(), [], [], T0)
    order = [(p.account, as_float(p.distance_ratio)) for p in page.positions]
    assert [a for a, _ in order] == ["iso", "degen", "hedge", "far"]
    assert math.isnan(order[0][1]) and order[-1][1] == math.inf
    iso = page.positions[0]
    assert iso.notes == {
        "liquidation_price_usd": "missing_tier",
        "distance_ratio": "no_mark",
        "distance_sigma": "no_volatility",
    }


def test_margin_ratio_is_the_isolated_legs_own_else_its_accounts() -> None:
    page = build_status(_desk().figures(), [], [], T0)
    by = {p.account: p for p in page.positions}
    assert (by["iso"].margin_mode, by["iso"].margin_ratio) == ("isolated", 0.4)
    assert (by["degen"].margin_mode, by["degen"].margin_ratio) == ("cross", 0.45)
    assert by["degen"].mark_usd == 40_000.0 and by["degen"].liquidation_price_usd == 38_000.0


def test_accounts_sort_by_margin_ratio_highest_first() -> None:
    page = build_status(_desk().figures(), [], [], T0)
    assert [a.account for a in page.accounts] == ["degen", "hedge", "far"]


def test_markets_put_the_books_symbols_first_then_the_largest_funding() -> None:
    """SOLUSDT has the largest funding but no position: it comes after the held symbols."""
    page = build_status(_desk().figures(), [], [], T0)
    assert [(m.venue, m.symbol, m.held) for m in page.markets] == [
        ("bybit", "ETHUSDT", True),
        ("binance", "BTCUSDT", True),
        ("binance", "SOLUSDT", False),
    ]
    eth = page.markets[0]
    assert math.isclose(as_float(eth.funding_annualized), -0.0003 * 3 * 365)


def test_feeds_stale_first_with_why_then_the_quietest() -> None:
    b = Book()
    b.feed("binance", "mark:BTCUSDT", age=0.2, stale=False)
    b.feed("binance", "account:hedge", age=9.0, stale=False)
    b.feed("bybit", "mark:BTCUSDT", age=42.0, stale=True, reason="silent")
    b.add("feed_last_message_age_seconds", NAN, reason="never_heard", venue="bybit", stream="book:perp:X")
    b.add("feed_stale", 1.0, reason="never_heard", venue="bybit", stream="book:perp:X")
    page = build_status(b.figures(), [], [], T0)
    assert [(f.stream, f.stale) for f in page.feeds] == [
        ("book:perp:X", True),
        ("mark:BTCUSDT", True),
        ("account:hedge", False),
        ("mark:BTCUSDT", False),
    ]
    assert page.feeds[0].notes == {"age_s": "never_heard", "state": "never_heard"}
    assert page.feeds[1].notes == {"state": "silent"} and page.feeds_stale == 2


def test_a_stale_value_is_kept_and_marked_and_a_missing_one_is_absent_not_zero() -> None:
    b = _desk()
    b.add("mark_price_usd", 40_100.0, fresh=False, venue="binance", symbol="BTCUSDT")
    del b.items[next(k for k in b.items if k.name == "margin_headroom_usd" and k.account == "far")]
    page = build_status(b.figures(), [], [], T0)
    degen = next(p for p in page.positions if p.account == "degen")
    assert degen.mark_usd == 40_100.0 and degen.notes["mark_usd"] == "stale"
    far = next(a for a in page.accounts if a.account == "far")
    assert math.isnan(as_float(far.headroom_usd)) and far.notes == {"headroom_usd": ABSENT}


def test_rows_carry_the_most_severe_alert_firing_on_their_labels() -> None:
    """A position row takes its own alerts and its account's; an account row only its own."""
    firing = [
        alert(
            "LiquidationDistance",
            Severity.WARNING,
            venue="binance",
            account="degen",
            symbol="BTCUSDT",
            side="BOTH",
        ),
        alert("MarginRatio", Severity.CRITICAL, venue="binance", account="degen"),
        alert("Funding", Severity.WARNING, venue="binance", symbol="BTCUSDT"),
        alert(
            "LiquidationDistance",
            Severity.INFO,
            venue="binance",
            account="hedge",
            symbol="BTCUSDT",
            side="BOTH",
        ),
    ]
    page = build_status(_desk().figures(), firing, [], T0)
    sev = {p.account: p.severity for p in page.positions}
    assert sev == {"degen": "critical", "hedge": "info", "iso": "", "far": ""}
    assert {a.account: a.severity for a in page.accounts} == {"degen": "critical", "hedge": "", "far": ""}
    assert {m.symbol: m.severity for m in page.markets}["BTCUSDT"] == "warning"
    assert page.firing_total == 4 and page.firing_counts == {"warning": 2, "critical": 1, "info": 1}
    assert [a.alertname for a in page.firing][:1] == ["MarginRatio"]  # most severe first
    assert page.firing[0].labels == {"venue": "binance", "account": "degen"}


def test_a_desk_of_a_thousand_positions_shows_the_worst_limit_and_counts_the_rest() -> None:
    b = Book()
    for i in range(1000):
        b.position(
            "binance",
            f"u{i % 20:03d}",
            f"S{i:04d}USDT",
            qty=1.0,
            mark=10.0,
            lp=5.0,
            distance=(i * 7919 % 1000 + 1) / 2000,
        )
    page = build_status(b.figures(), [], [], T0, limit=25)
    assert (len(page.positions), page.positions_total) == (25, 1000)
    shown = [as_float(p.distance_ratio) for p in page.positions]
    assert shown == sorted(shown) and shown[0] == 1 / 2000 and shown[-1] == 25 / 2000
    assert (len(page.markets), page.markets_total) == (25, 1000)


def test_before_the_first_tick_the_page_is_empty_and_says_so() -> None:
    page = build_status(None, [], [], T0)
    assert page.taken_at_ns == 0 and page.positions == () and page.positions_total == 0


def test_the_json_round_trip_keeps_nan_and_infinity() -> None:
    """NaN and ±inf travel as Prometheus spells them; JSON null would read as nothing to see."""
    page = build_status(_desk().figures(), [alert("X", Severity.PAGE, value=math.inf)], [], T0)
    raw = msgspec.json.encode(page)
    assert b"null" not in raw and b'"NaN"' in raw and b'"+Inf"' in raw
    back = msgspec.json.decode(raw, type=StatusPage)
    assert back == page


def test_a_leg_the_rules_judge_critical_leads_even_past_unknown_and_nearer_legs() -> None:
    """Own alerts sort; an account-wide alert colours the row but does not lift every leg of it."""
    firing = [
        alert(
            "LiquidationDistance",
            Severity.CRITICAL,
            venue="binance",
            account="hedge",
            symbol="BTCUSDT",
            side="BOTH",
        ),
        alert("MarginRatio", Severity.CRITICAL, venue="binance", account="far"),
    ]
    page = build_status(_desk().figures(), firing, [], T0)
    assert [p.account for p in page.positions] == ["hedge", "iso", "degen", "far"]
    assert page.positions[-1].severity == "critical" and page.positions_unknown == 1


def test_a_leg_no_price_move_liquidates_is_last_and_not_counted_unknown() -> None:
    """NaN with reason not_liquidatable (LP at or below zero) is the safest state, not an unknown."""
    b = _desk()
    b.position(
        "binance", "cash", "BTCUSDT", qty=-0.5, mark=40_000.0, lp=NAN, distance=NAN, why="not_liquidatable"
    )
    page = build_status(b.figures(), [], [], T0)
    assert [p.account for p in page.positions] == ["iso", "degen", "hedge", "far", "cash"]
    assert page.positions_unknown == 1  # iso only


NEAR_RULES = rules(
    {
        "name": "LiquidationDistance",
        "figure": "liquidation_distance_ratio",
        "op": "<",
        "levels": [{"severity": "warning", "threshold": 0.25}, {"severity": "critical", "threshold": 0.1}],
    }
)


def test_a_leg_past_liquidation_leads_then_unknown_then_the_nearest() -> None:
    """Distance 0 (below maintenance at every price) and a margin ratio at 100 % both read past
    liquidation: the venue is taking those legs now, the one thing worse than not knowing."""
    b = _desk()
    b.position("binance", "gone", "BTCUSDT", qty=1.0, mark=40_000.0, lp=NAN, distance=0.0, why="past")
    b.position("binance", "bust", "BTCUSDT", qty=1.0, mark=40_000.0, lp=30_000.0, distance=0.25)
    b.account("binance", "bust", ratio=math.inf, balance=-5.0, mm=400.0)
    page = build_status(b.figures(), [], [], T0, rules=NEAR_RULES)
    assert [(p.account, p.gauge.state) for p in page.positions] == [
        ("gone", PAST),
        ("bust", PAST),
        ("iso", UNKNOWN),
        ("degen", "critical"),  # 5 % < 10 %
        ("hedge", "warning"),  # 20 % < 25 %
        ("far", CLEAR),  # +inf: no LP at any price
    ]
    assert page.positions_unknown == 1 and page.rules_known


def test_each_bar_is_drawn_at_one_page_scale_with_its_rules_marks() -> None:
    page = build_status(_desk().figures(), [], [], T0, rules=NEAR_RULES)
    by = {p.account: p.gauge for p in page.positions}
    assert {g.scale for g in by.values()} == {0.5}  # twice the outermost threshold, for every row
    assert by["degen"].fill == 0.1 and by["hedge"].fill == 0.4 and by["iso"].fill == 1.0
    assert [(t.severity, t.value) for t in by["degen"].levels] == [("warning", 0.25), ("critical", 0.1)]


def test_without_the_daemons_rules_the_bars_are_unrated_and_the_page_knows_it() -> None:
    page = build_status(_desk().figures(), [], [], T0)
    assert not page.rules_known
    assert {p.account: p.gauge.state for p in page.positions} == {
        "iso": UNKNOWN,
        "degen": UNRATED,
        "hedge": UNRATED,
        "far": UNRATED,
    }


def test_each_leg_carries_its_markets_next_funding_from_the_desks_side() -> None:
    """Longs pay a positive rate and shorts receive it; the payment is at the tick's mark."""
    b = _desk()
    b.position("okx", "alt", "XRPUSDT", qty=100.0, mark=0.5, lp=0.3, distance=0.4)  # no funding figures
    page = build_status(b.figures(T0 - 5_000_000_000), [], [], T0)
    by = {p.account: p for p in page.positions}
    degen, hedge, iso = by["degen"], by["hedge"], by["iso"]
    assert (degen.funding_rate, degen.funding_next_in_s) == (0.0001, 3605.0)  # from the tick, 5 s ago
    assert as_float(degen.funding_payment_usd) == pytest.approx(-8.0)  # long 2 × 40,000 × 0.01 %: pays
    assert as_float(hedge.funding_payment_usd) == pytest.approx(120.0)  # short 30: receives
    assert as_float(iso.funding_payment_usd) == pytest.approx(6.0)  # long at a negative rate: receives
    alt = by["alt"]
    assert math.isnan(as_float(alt.funding_payment_usd)) and math.isnan(as_float(alt.funding_next_in_s))
    assert {k: alt.notes[k] for k in ("funding_rate", "funding_next_in_s", "funding_payment_usd")} == {
        "funding_rate": ABSENT,
        "funding_next_in_s": ABSENT,
        "funding_payment_usd": ABSENT,
    }


def test_a_market_says_how_long_to_its_next_settlement() -> None:
    page = build_status(_desk().figures(T0 - 60_000_000_000), [], [], T0)
    assert {m.symbol: m.funding_next_in_s for m in page.markets}["BTCUSDT"] == 3660.0
