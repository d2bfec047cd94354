"""The page's HTML: raw values beside the formatted ones, everything from outside escaped, nothing fetched."""

from __future__ import annotations

import re

from monitor.records import Severity
from monitor.status.build import build_status
from monitor.status.html import render_body, render_page
from monitor.status.model import CLEAR, PAST, UNKNOWN
from tests.support.status_dom import bars, cells
from tests.unit.status.desk import NAN, T0, Book, alert
from tests.unit.status.test_build import NEAR_RULES, _desk


def _cells(html: str) -> list[tuple[dict[str, str], dict[str, str], str]]:
    return [(row, cell, text) for _, row, cell, text in cells(html)]


def test_each_number_carries_its_figure_and_exact_value_beside_the_text() -> None:
    body = render_body(build_status(_desk().figures(), [], [], T0))
    cells = _cells(body)
    degen_distance = next(
        c
        for r, c, _ in cells
        if r.get("data-account") == "degen" and c.get("data-figure") == "liquidation_distance_ratio"
    )
    assert degen_distance["data-v"] == "0.05"
    row, cell, text = next(
        x
        for x in cells
        if x[0].get("data-account") == "iso" and x[1].get("data-figure") == "liquidation_price_usd"
    )
    assert (row["data-venue"], row["data-symbol"], row["data-side"]) == ("bybit", "ETHUSDT", "BOTH")
    assert (cell["data-v"], text, cell["title"]) == ("NaN", "n/a", "missing_tier")
    assert "na" in cell["class"].split()
    far = next(
        c
        for r, c, _ in cells
        if r.get("data-account") == "far" and c.get("data-figure") == "liquidation_distance_ratio"
    )
    assert far["data-v"] == "+Inf"
    iso_mr = next(
        c for r, c, _ in cells if r.get("data-account") == "iso" and c.get("data-label") == "Margin ratio"
    )
    assert iso_mr["data-figure"] == "position_margin_ratio"  # an isolated leg's own ratio, not the account's


def test_labels_and_summaries_from_outside_are_escaped() -> None:
    b = Book()
    evil = '<img src=x onerror="alert(1)">'
    b.position("binance", evil, "BTCUSDT", qty=1.0, mark=10.0, lp=5.0, distance=0.5)
    firing = [alert("X<script>", Severity.CRITICAL, venue="binance", account=evil)]
    html = render_page(build_status(b.figures(), firing, [], T0), stale_after_s=10.0)
    assert "<img" not in html and "<script>alert" not in html and "X<script>" not in html
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in html
    assert 'class="sev-critical"' in html  # the row still carries the alert on its (escaped) labels


def test_the_page_fetches_nothing_from_elsewhere() -> None:
    html = render_page(build_status(_desk().figures(), [], [], T0), stale_after_s=10.0)
    for outside in ("http:", "https:", "src=", "href=", "url(", "@import", "<link"):
        assert outside not in html, outside
    assert html.count("<style>") == 1 and html.count("<script>") == 1
    assert '<meta name="viewport" content="width=device-width,initial-scale=1">' in html
    assert 'data-stale-after="10"' in html


def test_the_body_says_which_tick_and_when_it_was_served() -> None:
    body = render_body(build_status(_desk().figures(T0 - 5), [], [], T0))
    assert re.search(rf'data-taken="{T0 - 5}" data-served="{T0}"', body)


def test_all_fresh_feeds_fold_into_one_line_and_a_stale_one_opens_them() -> None:
    b = _desk()
    b.feed("binance", "mark:BTCUSDT", age=0.25, stale=False)
    b.feed("binance", "account:hedge", age=7.0, stale=False)
    body = render_body(build_status(b.figures(), [], [], T0))
    assert "<summary>All 2 fresh · the quietest spoke 7 s ago</summary>" in body
    b.feed("bybit", "mark:ETHUSDT", age=42.0, stale=True, reason="silent")
    body = render_body(build_status(b.figures(), [], [], T0))
    assert 'id="feeds-fold"' not in body and ">STALE: silent<" in body


def test_before_the_first_tick_nothing_reads_as_all_clear() -> None:
    body = render_body(build_status(None, [], [], T0))
    assert '<span class="chip warning">no evaluation yet</span>' in body
    assert "nothing firing" not in body and "fresh" not in body
    quiet = render_body(build_status(_desk().figures(), [], [], T0))
    assert '<span class="chip ok">nothing firing</span>' in quiet


def test_an_lp_no_move_reaches_reads_none_with_why_and_no_warning_colour() -> None:
    b = Book()
    b.position(
        "binance", "cash", "BTCUSDT", qty=-0.5, mark=40_000.0, lp=NAN, distance=NAN, why="not_liquidatable"
    )
    for _, cell, text in _cells(render_body(build_status(b.figures(), [], [], T0))):
        if cell.get("data-figure") in ("liquidation_price_usd", "liquidation_distance_ratio"):
            assert (text, cell["data-v"], cell["title"]) == ("none", "NaN", "not_liquidatable")
            assert "na" not in cell["class"].split()


def test_each_leg_has_a_bar_in_its_state_with_the_rules_marks() -> None:
    """Near (critical, short red bar), unknown (full, striped, why), past (full red) and safe."""
    b = _desk()
    b.position("binance", "gone", "BTCUSDT", qty=1.0, mark=40_000.0, lp=NAN, distance=0.0, why="past")
    body = render_body(build_status(b.figures(), [], [], T0, rules=NEAR_RULES))
    by = {bar.row["data-account"]: bar for bar in bars(body)}
    assert [bar.row["data-account"] for bar in bars(body)] == ["gone", "iso", "degen", "hedge", "far"]
    gone, iso, degen, far = by["gone"], by["iso"], by["degen"], by["far"]
    assert (gone.state, gone.width, gone.caption) == (PAST, 100.0, "PAST LIQUIDATION")
    assert (iso.state, iso.width, iso.caption) == (UNKNOWN, 100.0, "unknown: no_mark")
    assert (degen.state, degen.width) == ("critical", 10.0)  # 5 % on a 50 % scale
    assert degen.marks == [("warning", 0.25, 50.0), ("critical", 0.1, 20.0)]
    assert degen.caption == "5.00 % · σ n/a"  # the level is the bar's colour; in words on hover
    assert degen.title == "5.00 % · σ n/a · critical < 10.00 %"
    assert gone.marks == [] and iso.marks == []  # not a distance: nothing to hold against a level
    assert (far.state, far.width) == (CLEAR, 100.0)
    assert "No thresholds" not in body


def test_a_live_leg_a_hair_from_liquidation_still_draws_a_visible_bar() -> None:
    b = Book()
    b.position("binance", "thin", "BTCUSDT", qty=1.0, mark=40_000.0, lp=39_990.0, distance=0.00025)
    (bar,) = bars(render_body(build_status(b.figures(), [], [], T0, rules=NEAR_RULES)))
    assert bar.state == "critical" and 0 < bar.width < 5


def test_without_the_rules_the_page_says_its_bars_carry_no_thresholds() -> None:
    body = render_body(build_status(_desk().figures(), [], [], T0))
    assert "No thresholds on the bars: this page was not given the daemon&#x27;s rules." in body
    assert all(not bar.marks for bar in bars(body))


def test_each_leg_says_when_funding_hits_and_what_it_pays_or_receives() -> None:
    body = render_body(build_status(_desk().figures(), [], [], T0))
    row = {
        (r["data-account"], c["data-label"]): (c, text)
        for r, c, text in _cells(body)
        if "data-account" in r and r.get("data-symbol")
    }
    assert row[("degen", "Next funding")][1] == "in 1 h"
    cell, text = row[("degen", "Funding")]
    assert text == "pay $8.00" and "bad" in cell["class"].split()
    cell, text = row[("hedge", "Funding")]
    assert text == "receive $120.00" and "good" in cell["class"].split()
    assert row[("degen", "Pred. rate")][1] == "+0.0100 %"
    assert row[("degen", "Pred. rate")][0]["data-figure"] == "funding_rate_ratio"


def test_a_stale_distance_draws_a_faded_bar_whose_words_say_so() -> None:
    b = _desk()
    b.add(
        "liquidation_distance_ratio",
        0.05,
        fresh=False,
        venue="binance",
        account="degen",
        symbol="BTCUSDT",
        side="BOTH",
    )
    body = render_body(build_status(b.figures(), [], [], T0, rules=NEAR_RULES))
    degen = next(bar for bar in bars(body) if bar.row["data-account"] == "degen")
    assert degen.caption == "5.00 %* · σ n/a" and degen.state == "critical"
    assert re.search(r'class="gauge st-critical stale" data-state="critical"', body)
