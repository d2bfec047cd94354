"""What a person reads: %, USD with separators, prices, durations as the alerts write them; NaN is n/a."""

from __future__ import annotations

import math

import pytest

from monitor import human
from monitor.status import fmt


@pytest.mark.parametrize(
    ("value", "text"),
    [(0.04919650442961698, "4.92 %"), (1.0, "100.00 %"), (0.0, "0.00 %"), (-0.5, "-50.00 %"), ("NaN", "n/a")],
)
def test_pct(value: float | str, text: str) -> None:
    assert fmt.pct(value) == text


def test_pct_signed_with_more_decimals_for_funding() -> None:
    assert fmt.pct(0.00030908, 4, signed=True) == "+0.0309 %"
    assert fmt.pct(-0.0001, 4, signed=True) == "-0.0100 %"
    assert fmt.pct(3.2850000000000006, 1, signed=True) == "+328.5 %"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1_974_390.9021765, "$1,974,391"),
        (-1_771.652, "-$1,772"),
        (341.2149, "$341.21"),
        (0.0, "$0.00"),
        ("+Inf", "$∞"),
        (math.nan, "n/a"),
    ],
)
def test_usd(value: float | str, text: str) -> None:
    assert fmt.usd(value) == text


def test_usd_signed() -> None:
    assert (fmt.usd(35_760.2, signed=True), fmt.usd(-2.5, signed=True)) == ("+$35,760", "-$2.50")


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (39487.81804353, "39,487.8"),  # six significant digits, as the alerts write a price
        (2_000.0, "2,000.00"),
        (1.23456789, "1.23457"),
        (0.000123456, "0.000123456"),  # a memecoin keeps its digits, never an exponent
        (-35.433, "-35.4330"),
        ("-Inf", "-∞"),
    ],
)
def test_price(value: float | str, text: str) -> None:
    assert fmt.price(value) == text


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.36, "0.36 s"),
        (42.2, "42 s"),
        (245.0, "4 min 5 s"),
        (240.0, "4 min"),
        (7380.0, "2 h 3 min"),
        (28800.0, "8 h"),
        (3 * 86400 + 4 * 3600 + 59, "3 d 4 h"),
        (math.nan, "n/a"),
    ],
)
def test_duration(seconds: float, text: str) -> None:
    assert fmt.duration(seconds) == text


def test_quantities_ratios_and_times() -> None:
    assert (fmt.base(-50.0), fmt.base(0.0012), fmt.base(1_234.5)) == ("-50", "0.0012", "1,234.5")
    assert (fmt.sigma(2.345), fmt.bps(-8.98), fmt.ratio(0.07492)) == ("2.35 σ", "-9.0 bp", "0.075")
    assert fmt.utc_time(1_796_688_000_000_000_000, date=True) == "2026-12-08 00:00:00 UTC"
    assert fmt.ago(1_000_000_000, 13_500_000_000) == "12 s ago"
    assert (fmt.count(1, "position"), fmt.count(1000, "feed"), fmt.count(0, "feed")) == (
        "1 position",
        "1,000 feeds",
        "0 feeds",
    )


def test_time_to_funding_reads_in_words_and_a_passed_one_is_due_not_negative() -> None:
    assert human.until(2 * 3600 + 14 * 60) == "in 2 h 14 min"
    assert human.until(42.0) == "in 42 s"
    assert (human.until(0.0), human.until(-3.0), human.until(math.nan)) == ("due now", "due now", "n/a")


def test_a_payment_reads_from_the_desks_side_with_separators() -> None:
    assert human.flow(-8.0) == "pay $8.00"
    assert human.flow(12_345.6) == "receive $12,346"
    assert (human.flow(0.0), human.flow(math.nan), human.flow(-math.inf)) == ("$0.00", "n/a", "pay $∞")
