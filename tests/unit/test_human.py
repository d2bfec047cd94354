"""Numbers as a desk reads them (monitor/human.py): worked values for every format."""

from __future__ import annotations

import math

import pytest

from monitor import human


@pytest.mark.parametrize(
    ("x", "text"),
    [
        (0.04919650442961698, "4.92 %"),
        (3.2850000000000006, "328.5 %"),
        (0.0001, "0.0100 %"),
        (-0.0009, "-0.0900 %"),
        (0.52, "52.0 %"),
        (0.0, "0.0 %"),
        (math.inf, "∞"),
        (math.nan, "n/a"),
    ],
)
def test_pct(x: float, text: str) -> None:
    """A fraction reads as a percentage at a precision that shows its size; inf and NaN are named."""
    assert human.pct(x) == text


@pytest.mark.parametrize(
    ("x", "text"),
    [(12_345.678, "$12,346"), (512.3, "$512.30"), (-1_234.5, "-$1,234"), (1_234_567.0, "$1,234,567")],
)
def test_usd(x: float, text: str) -> None:
    """Dollars carry thousands separators; cents only below a thousand."""
    assert human.usd(x) == text


def test_price_at_tick_or_significant_digits() -> None:
    """At the venue's tick when known; otherwise six significant digits, separators included."""
    assert human.price(36_512.34, 0.1) == "36,512.3"
    assert human.price(1_335.184, 0.01) == "1,335.18"
    assert human.price(0.000123456, 0.0000001) == "0.0001235"
    assert human.price(36_512.34) == "36,512.3"
    assert human.price(0.00012345) == "0.000123450"
    assert human.price(48_117.01) == "48,117.0", "a price keeps its zeros"


@pytest.mark.parametrize(
    ("s", "text"),
    [
        (3.0, "3 s"),
        (45.0, "45 s"),
        (125.4, "2 min 5 s"),
        (3600.0, "1 h"),
        (28_800.0, "8 h"),
        (90_061.0, "1 d 1 h"),
    ],
)
def test_duration(s: float, text: str) -> None:
    """Two units at most, the larger first; zero parts dropped."""
    assert human.duration(s) == text


def test_sizes_sigma_and_units() -> None:
    """Sizes carry their asset; sigma its sign; by_unit follows the catalogue's units."""
    assert human.quantity(-2.0, "BTC") == "2 BTC"
    assert human.quantity(1000.0, "BTC") == "1,000 BTC"
    assert human.sigma(1.3412) == "1.34 σ"
    assert human.base_asset("BTCUSDT") == "BTC" and human.base_asset("ETHUSDC") == "ETH"
    assert human.by_unit(28_800.0, "seconds") == "8 h"
    assert human.by_unit(12.34, "bps") == "12.3 bp"
    assert human.by_unit(1.0, "flag") == "yes"
