"""Proxy (beta) hedge: ETH holdings hedged with the BTC perpetual, β and R² recomputed by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from monitor.config import parse_config
from monitor.errors import ConfigError
from monitor.evaluator import Evaluator
from monitor.records import Holding, MarkPrice, Quote
from monitor.store.state import StateStore
from tests.unit.evaluation.world import T0, S, reason, value

LAB = {"asset": "ETH", "venue": "binance", "symbol": "BTCUSDT"}


def _config(window: int = 100, holdings: float = 40.0):  # type: ignore[no-untyped-def]
    data = {
        "venues": [{"name": "binance", "symbols": ["BTCUSDT"], "spot_symbols": ["ETHUSDT"]}],
        "holdings": [
            {
                "name": "eth",
                "asset": "ETH",
                "quantity": holdings,
                "price_venue": "binance",
                "price_symbol": "ETHUSDT",
            }
        ][: 1 if holdings else 0],
        "evaluation": {
            "volatility_sample_s": 60.0,
            "proxy_hedges": [
                {"asset": "ETH", "venue": "binance", "symbol": "BTCUSDT", "window": window, "fraction": 0.8}
            ],
        },
    }
    return parse_config(data, env={})[0]


def _world(n: int = 300, holdings: float = 40.0) -> tuple[StateStore, np.ndarray, np.ndarray, int]:
    rng = np.random.default_rng(5)
    rb = rng.normal(0, 0.01, n)
    ra = 1.3 * rb + rng.normal(0, 0.006, n)
    btc = 30_000 * np.exp(np.cumsum(rb))
    eth = 2_000 * np.exp(np.cumsum(ra))
    st = StateStore(grid_step_s=60.0)
    for k in range(n):
        t = T0 + k * 60 * S
        st.put(
            MarkPrice(
                venue="binance",
                symbol="BTCUSDT",
                ts_event_ns=t,
                ts_recv_ns=t,
                mark=float(btc[k]),
                index=float(btc[k]),
            )
        )
        st.put(
            Quote(
                venue="binance",
                symbol="ETHUSDT",
                market="spot",
                ts_event_ns=t,
                ts_recv_ns=t,
                bid=float(eth[k]) - 0.01,
                bid_size=1.0,
                ask=float(eth[k]) + 0.01,
                ask_size=1.0,
            )
        )
    if holdings:
        st.put(
            Holding(
                venue="config",
                ts_event_ns=T0,
                ts_recv_ns=T0,
                name="eth",
                asset="ETH",
                quantity=holdings,
                price_venue="binance",
                price_symbol="ETHUSDT",
            )
        )
    return st, btc, eth, T0 + (n - 1) * 60 * S


def test_beta_r2_and_quantity_by_hand() -> None:
    st, btc, eth, now = _world()
    figs = Evaluator(_config(), started_ns=T0).evaluate(st.snapshot(now), now)
    # finished buckets 0..298; the last 100 returns end at bucket 298
    a = np.diff(np.log(eth[198:299]))
    b = np.diff(np.log(btc[198:299]))
    c = np.cov(a, b)
    beta = c[0, 1] / c[1, 1]
    r2 = c[0, 1] ** 2 / (c[0, 0] * c[1, 1])
    mid = 0.5 * ((eth[-1] - 0.01) + (eth[-1] + 0.01))
    assert value(figs, "proxy_hedge_beta_ratio", **LAB) == pytest.approx(beta, rel=1e-6)
    assert value(figs, "proxy_hedge_r2_ratio", **LAB) == pytest.approx(r2, rel=1e-6)
    assert value(figs, "proxy_hedge_quantity", **LAB) == pytest.approx(
        -0.8 * beta * 40.0 * mid / btc[-1], rel=1e-6
    )
    assert 1.1 < beta < 1.5 and 0.6 < r2 < 0.95


def test_too_little_history_and_no_holdings_are_flagged() -> None:
    st, _, _, now = _world(n=10)
    figs = Evaluator(_config(), started_ns=T0).evaluate(st.snapshot(now), now)
    assert math.isnan(value(figs, "proxy_hedge_beta_ratio", **LAB))
    assert reason(figs, "proxy_hedge_beta_ratio", **LAB) == "empty_history"
    st, _, _, now = _world(holdings=0.0)
    figs = Evaluator(_config(holdings=0.0), started_ns=T0).evaluate(st.snapshot(now), now)
    assert reason(figs, "proxy_hedge_quantity", **LAB) == "no_holdings"


def test_proxy_must_name_a_watched_perpetual() -> None:
    data = {
        "venues": [{"name": "binance", "symbols": ["BTCUSDT"]}],
        "evaluation": {"proxy_hedges": [{"asset": "ETH", "venue": "binance", "symbol": "SOLUSDT"}]},
    }
    with pytest.raises(ConfigError) as err:
        parse_config(data, env={})
    assert err.value.path == "evaluation.proxy_hedges[0].symbol"
