"""Cost to close by walking the book (risk-formulas §10)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from monitor.risk.liquidity import cost_to_close
from monitor.risk.reasons import Reason

BIDS = (np.array([99.0, 98.0, 97.0]), np.array([1.0, 2.0, 3.0]))
ASKS = (np.array([101.0, 102.0]), np.array([1.0, 1.0]))


def test_long_walks_bids() -> None:
    """Sell 2.5 into bids 1@99, 1.5@98: avg 98.4, mid 100 → 160 bps, cost 2.5·1.6 = 4."""
    res = cost_to_close(2.5, *BIDS, *ASKS)
    assert res.avg_price == pytest.approx((99 + 1.5 * 98) / 2.5)
    assert res.slippage_bps == pytest.approx(160.0)
    assert res.cost == pytest.approx(4.0)
    assert res.sufficient and res.reason == Reason.OK


def test_short_walks_asks_and_unsorted_levels() -> None:
    """Buy 1.5 into asks (given unsorted): 1@101, 0.5@102 → avg 101.333, 133.3 bps."""
    res = cost_to_close(-1.5, *BIDS, np.array([102.0, 101.0]), np.array([1.0, 1.0]))
    assert res.avg_price == pytest.approx((101 + 0.5 * 102) / 1.5)
    assert res.slippage_bps == pytest.approx((res.avg_price - 100) / 100 * 1e4)


def test_insufficient_depth_is_flagged_not_priced() -> None:
    """Buying 5 against 2 visible: NaN slippage, visible-depth figures kept, INSUFFICIENT_DEPTH."""
    res = cost_to_close(-5.0, *BIDS, *ASKS)
    assert not res.sufficient and res.reason == Reason.INSUFFICIENT_DEPTH
    assert math.isnan(res.slippage_bps) and res.filled_qty == 2.0
    assert res.slippage_bps_visible == pytest.approx(150.0)


def test_bad_books() -> None:
    """Crossed book, NaN, empty side, zero quantity."""
    assert cost_to_close(1.0, np.array([102.0]), np.array([1.0]), *ASKS).reason == Reason.BAD_PARAMETER
    assert cost_to_close(math.nan, *BIDS, *ASKS).reason == Reason.NAN_INPUT
    assert cost_to_close(1.0, np.zeros(0), np.zeros(0), *ASKS).reason == Reason.INSUFFICIENT_DEPTH
    assert cost_to_close(0.0, *BIDS, *ASKS).slippage_bps == 0.0
