"""SimControl (and so the admin API) reaches the simulated Bybit: its accounts, its own fault switches."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from monitor.clock import ManualClock
from monitor.sim.control import ControlError, SimControl
from monitor.sim.server import Simulator
from monitor.sim.standalone import describe
from monitor.sim.testing import BYBIT_TEST_KEYS, TEST_KEYS, bybit_config


def _control() -> SimControl:
    return SimControl(Simulator(bybit_config(), TEST_KEYS | BYBIT_TEST_KEYS, ManualClock()))


def test_bybit_faults_are_switched_per_venue() -> None:
    ctl = _control()
    ctl.fault("stall", venue="bybit", on=True)
    assert (ctl.sim.bybit.faults.stalled, ctl.sim.faults.stalled) == (True, False)
    assert ctl.state()["bybit"]["stalled"] is True and ctl.state()["stalled"] is False
    ctl.fault("stall", on=True)
    ctl.fault("stall", venue="bybit", on=False)
    assert (ctl.sim.bybit.faults.stalled, ctl.sim.faults.stalled) == (False, True)
    with pytest.raises(ControlError, match="not simulated on bybit") as err:
        ctl.fault("expire_listen_key", venue="bybit")
    assert err.value.status == 400
    with pytest.raises(ControlError, match="venue must be"):
        ctl.fault("stall", venue="okx")


def test_accounts_list_both_venues_with_the_venue_figures() -> None:
    ctl = _control()
    accounts = ctl.accounts()
    assert set(accounts) == {"alice", "bob", "carol", "dave"}
    dave = ctl.account("dave")
    assert dave["venue"] == "bybit"
    btc = next(p for p in dave["positions"] if p["symbol"] == "BTCUSDT")
    assert btc["liq_price"] == 9_849.3  # (10,000 − 200)/0.995, MM on the mark (2024 form: 9,850)
    assert dave["wallet"]["margin_mode"] == "ISOLATED_MARGIN"
    assert "summary" in accounts["alice"] and "venue" not in accounts["alice"]


def test_market_per_venue() -> None:
    ctl = _control()
    bybit, binance = ctl.market("bybit"), ctl.market()
    assert set(bybit) == {"BTCUSDT", "ETHUSDT", "SOLUSDT"} <= set(binance)
    q = ctl.sim.bybit.market.quotes["BTCUSDT"]
    assert (bybit["BTCUSDT"]["mark"], bybit["BTCUSDT"]["funding_rate"]) == (q.mark, q.funding_rate)
    assert bybit["BTCUSDT"]["spread_bps"] == ctl.sim.bybit.market.spreads["BTCUSDT"].bps
    with pytest.raises(ControlError):
        ctl.market("okx")


def test_perpmon_sim_describes_the_bybit_accounts_and_keys() -> None:
    ctl = _control()
    admin = SimpleNamespace(url="http://127.0.0.1:1/admin", token="t0ken")
    info = describe(ctl.sim, admin, "crash-2021-05-19")  # type: ignore[arg-type]
    bybit = {a["name"]: a for a in info["accounts"] if a.get("venue") == "bybit"}
    assert set(bybit) == {"carol", "dave"}
    assert bybit["dave"]["api_key"] == BYBIT_TEST_KEYS["dave"][0].reveal()
    assert {p["symbol"] for p in bybit["carol"]["positions"]} == {"BTCUSDT", "SOLUSDT"}
    assert "bybit_rest_url" in info and "bybit_ws_url" in info
