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
    ("x", "tick", "text"),
    [
        (29_829.3, 0.1, "29,829.3"),  # BTCUSDT perp: Binance writes the tick "0.10"
        (29_829.0, 0.1, "29,829.0"),  # the tick's digit stays when it is zero
        (29_829.31, 0.01, "29,829.31"),
        (1_335.1, 0.01, "1,335.10"),
        (0.52341234, 0.0001, "0.5234"),  # a 0.0001-tick symbol: 4 decimals
        (2.5, 0.0001, "2.5000"),
        (0.0000123456, 1e-8, "0.00001235"),
        (0.00001235, 0.00000001, "0.00001235"),
        (104.25, 0.25, "104.25"),  # a tick of 0.25 needs two decimals, not one
        (29_830.0, 5.0, "29,830"),  # a tick of 5: whole units
        (29_829.3, 5.0, "29,829"),  # off the tick: rounded to its decimals, not snapped to 5
        (34_716.42, 0.1, "34,716.4"),  # a computed LP at the tick's decimals
        (-0.04, 0.1, "0.0"),  # no "-0.0"
        (-12.34, 0.1, "-12.3"),
    ],
)
def test_price_has_its_ticks_decimals(x: float, tick: float, text: str) -> None:
    """A price is written with the decimals of its symbol's tick, never more, never snapped to it."""
    assert human.price(x, tick) == text


@pytest.mark.parametrize("tick", [0.0, -0.1, math.nan, math.inf, None])
def test_a_tick_that_is_not_a_tick_falls_back_to_significant_digits(tick: float | None) -> None:
    """No tick, or a nonsense one, writes the price as without metadata (six significant digits)."""
    assert human.price(36_512.34, tick) == human.price(36_512.34) == "36,512.3"
    assert human.tick_decimals(tick) is None


@pytest.mark.parametrize(("x", "text"), [(math.nan, "n/a"), (math.inf, "∞"), (-math.inf, "-∞")])
def test_a_price_that_is_not_a_number_says_so_at_any_tick(x: float, text: str) -> None:
    """NaN and ±inf read the same with or without a tick (a missing mark is not a 0.0)."""
    assert human.price(x, 0.1) == human.price(x) == text


@pytest.mark.parametrize(
    ("tick", "decimals"),
    [(0.1, 1), (0.01, 2), (0.0001, 4), (1e-8, 8), (0.00005, 5), (0.25, 2), (5.0, 0), (10.0, 0), (1.0, 0)],
)
def test_tick_decimals(tick: float, decimals: int) -> None:
    """The decimals of a tick are those of its shortest decimal form (float("0.10") is 0.1: 1)."""
    assert human.tick_decimals(tick) == decimals


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
