"""MQTT holdings: their own namespace beside config.toml's, an explicit clear, and max_age_s staleness."""

from __future__ import annotations

import math
from typing import Any

import msgspec
import pytest

from monitor.clock import ManualClock
from monitor.collectors.mqtt_holdings import MqttHoldingsCollector, parse_holding
from monitor.config import MqttConfig
from monitor.errors import ParseError
from monitor.evaluator import Evaluator
from monitor.records import Figure, FigureKey, Figures, Holding
from monitor.store.state import StateStore
from tests.unit.evaluation.world import S, bar_ns, config, path, put_bars, put_book, store

PRICES = {("binance", "BTCUSDT")}
_world = config()
CFG = msgspec.structs.replace(_world, venues=(msgspec.structs.replace(_world.venues[0], perp_books=False),))
COLD = msgspec.json.encode(
    {"asset": "BTC", "quantity": 5.0, "price_venue": "binance", "price_symbol": "BTCUSDT"}
)


class FakeClient:
    """Stands in for aiomqtt.Client: the collector only publishes its rejections on it."""

    def __init__(self) -> None:
        self.published: list[tuple[str, Any]] = []

    async def publish(self, topic: str, payload: Any, qos: int = 0) -> None:
        self.published.append((topic, msgspec.json.decode(payload)))


def book() -> tuple[StateStore, int]:
    """The world's book: 10 BTC custody declared in config, 8 BTC short; marks and spot to price it."""
    st = store()
    marks, basis = path(40)
    put_bars(st, marks, basis, 0, 40)
    now = bar_ns(39)
    put_book(st, now, qty=-8.0, holdings=10.0)
    return st, now


def collector(st: StateStore, clock: ManualClock, **cfg: Any) -> MqttHoldingsCollector:
    return MqttHoldingsCollector(
        cfg=MqttConfig(enabled=True, **cfg),
        credentials=None,
        prices=PRICES,
        sink=st,
        clock=clock,
        declared=lambda: {"custody"},
    )


def figures(st: StateStore, now: int) -> Figures:
    """Evaluate at `now` with every venue stream just heard from, so only the holdings can be old."""
    snap = st.snapshot(now)
    mark, quote = snap.marks[("binance", "BTCUSDT")], snap.quotes[("binance", "BTCUSDT", "spot")]
    st.put(msgspec.structs.replace(mark, ts_event_ns=now, ts_recv_ns=now))
    st.put(msgspec.structs.replace(quote, ts_event_ns=now, ts_recv_ns=now))
    put_book(st, now, qty=-8.0, holdings=0.0)
    return Evaluator(CFG, started_ns=now - 3600 * S).evaluate(st.snapshot(now), now)


def fig(figs: Figures, name: str) -> Figure:
    return figs.items[FigureKey(name=name, asset="BTC")]


def test_parse_refuses_a_declared_name_and_makes_a_clear_explicit() -> None:
    """A message naming a config holding is a parse error; an empty one is a record flagged cleared."""
    with pytest.raises(ParseError) as err:
        parse_holding("perpmon/holdings/custody", b"", "perpmon", PRICES, 1, declared={"custody"})
    assert err.value.reason == "config_holding"
    with pytest.raises(ParseError):
        parse_holding("perpmon/holdings/custody", COLD, "perpmon", PRICES, 1, declared={"custody"})
    cleared = parse_holding("perpmon/holdings/cold", b"", "perpmon", PRICES, 1, declared={"custody"})
    assert (cleared.venue, cleared.name, cleared.cleared) == ("mqtt", "cold", True)
    pushed = parse_holding("perpmon/holdings/cold", COLD, "perpmon", PRICES, 1, max_age_s=60.0)
    assert (pushed.cleared, pushed.quantity, pushed.max_age_s) == (False, 5.0, 60.0)


def test_the_store_keeps_each_source_in_its_own_namespace() -> None:
    """A clear from MQTT removes MQTT's entry only, even under a name config.toml also uses."""
    st = StateStore()
    common = {"asset": "BTC", "price_venue": "binance", "price_symbol": "BTCUSDT", "ts_event_ns": 1}
    st.put(Holding(venue="config", name="custody", quantity=50.0, ts_recv_ns=1, **common))
    st.put(Holding(venue="mqtt", name="cold", quantity=5.0, ts_recv_ns=1, **common))
    st.put(Holding(venue="mqtt", name="custody", quantity=0.0, ts_recv_ns=2, cleared=True, **common))
    assert {n: h.quantity for n, h in st.snapshot(3).holdings.items()} == {"custody": 50.0, "cold": 5.0}
    st.put(Holding(venue="mqtt", name="custody", quantity=7.0, ts_recv_ns=2, **common))  # a reload's shadow
    assert st.snapshot(3).holdings["custody"].quantity == 50.0  # config.toml wins the name
    st.put(Holding(venue="mqtt", name="cold", quantity=0.0, ts_recv_ns=3, cleared=True, **common))
    assert set(st.snapshot(4).holdings) == {"custody"}


async def test_an_empty_message_for_custody_leaves_the_hedge_ratio_alone() -> None:
    """The issue's case: an empty retained payload on holdings/custody is refused, counted and logged.

    Before, it removed the 50 BTC custody holding, hedge_ratio turned NaN and HedgeRatioLow went quiet.
    """
    st, now = book()
    assert fig(figures(st, now), "hedge_ratio").value == pytest.approx(0.8)
    clock = ManualClock(start_ns=now)
    col, client = collector(st, clock), FakeClient()
    await col._handle(client, "perpmon/holdings/custody", b"", retained=True)  # type: ignore[arg-type]
    assert col.stats.dropped == {"config_holding": 1} and col.rejected == 1
    assert client.published[0][0] == "perpmon/holdings/custody/rejected"
    assert client.published[0][1]["reason"] == "config_holding"
    hr = fig(figures(st, now), "hedge_ratio")
    assert hr.value == pytest.approx(0.8) and hr.fresh


async def test_pushed_holdings_add_update_and_clear_beside_config() -> None:
    """MQTT adds its own holding, updates it, and an empty message clears only that one."""
    st, now = book()
    clock = ManualClock(start_ns=now)
    col, client = collector(st, clock), FakeClient()
    await col._handle(client, "perpmon/holdings/cold", COLD)  # type: ignore[arg-type]
    assert fig(figures(st, now), "holdings_quantity").value == 15.0
    await col._handle(client, "perpmon/holdings/cold", COLD.replace(b"5.0", b"6.0"))  # type: ignore[arg-type]
    assert fig(figures(st, now), "holdings_quantity").value == 16.0
    await col._handle(client, "perpmon/holdings/cold", b"")  # type: ignore[arg-type]
    assert fig(figures(st, now), "holdings_quantity").value == 10.0
    assert client.published == [] and col.stats.dropped == {}


async def test_a_pushed_holding_older_than_max_age_flags_the_figures_built_on_it() -> None:
    """Past max_age_s, the book figures built on the holding are not fresh and say which holding."""
    st, now = book()
    clock = ManualClock(start_ns=now)
    col, client = collector(st, clock, max_age_s=300.0), FakeClient()
    await col._handle(client, "perpmon/holdings/cold", COLD)  # type: ignore[arg-type]
    figs = figures(st, now + 299 * S)
    assert all(fig(figs, n).fresh for n in ("holdings_quantity", "hedge_ratio", "net_delta"))
    assert all(f.fresh for k, f in figs.items.items() if k.name == "var_usd")
    figs = figures(st, now + 301 * S)
    why = "holding not updated within max_age_s: cold"
    for name in ("holdings_quantity", "hedge_ratio", "net_delta", "book_partial"):
        f = fig(figs, name)
        assert not f.fresh and why in f.reason and math.isfinite(f.value), name
    assert fig(figs, "book_partial").value == 1.0
    var = [f for k, f in figs.items.items() if k.name == "var_usd"]
    assert var and not any(f.fresh for f in var)  # the VaR's spot leg is that holding too
    assert fig(figs, "funding_carry_usd_per_day").fresh  # built on the perp legs only


async def test_the_broker_resending_a_retained_copy_does_not_make_it_new() -> None:
    """On reconnect the broker re-sends the retained message: it keeps its first receipt time.

    A live message (not retained), even with the same payload, is the publisher speaking again.
    """
    st, now = book()
    clock = ManualClock(start_ns=now)
    col, client = collector(st, clock, max_age_s=300.0), FakeClient()
    await col._handle(client, "perpmon/holdings/cold", COLD, retained=True)  # type: ignore[arg-type]
    clock.advance(200.0)
    await col._handle(client, "perpmon/holdings/cold", COLD, retained=True)  # type: ignore[arg-type]
    assert not fig(figures(st, now + 301 * S), "holdings_quantity").fresh
    await col._handle(client, "perpmon/holdings/cold", COLD, retained=False)  # type: ignore[arg-type]
    assert fig(figures(st, now + 301 * S), "holdings_quantity").fresh
