"""The venue registry: one entry per venue, and the answers every module used to branch for.

A wrong entry here is a venue on the wrong margin model, polling at the wrong cadence or pointed
at production while the simulator runs, so each field that replaced a branch is checked against
what the branch decided.
"""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast, get_args

import ccxt.pro as ccxtpro
import pytest

import monitor
from monitor.collectors.cadence import mark_cadence_s, stream_limits, uses_user_stream
from monitor.config import Config, VenueConfig
from monitor.evaluation.account_bybit import bybit_model_venues
from monitor.venues import (
    BINANCE,
    BINANCE_COINM,
    BYBIT,
    CCXT,
    HYPERLIQUID,
    OKX,
    VENUES,
    Endpoints,
    Kind,
    by_ccxt_id,
    ccxt_quirks,
    endpoints,
    kinds,
    model_venue,
    native_kind,
    simulated_as,
    spoken,
    venue_of,
)


def venue(**kw: Any) -> VenueConfig:
    return VenueConfig(name="v", symbols=("BTCUSDT",), **kw)


def test_the_kinds_a_config_may_name_are_the_entries_with_a_collector() -> None:
    assert kinds() == get_args(Kind) == ("binanceusdm", "binancecoinm", "bybit", "okx", "hyperliquid", "ccxt")
    assert [x.kind for x in VENUES if x.collector is not None] == list(kinds())


@pytest.mark.parametrize("entry", VENUES, ids=lambda x: x.name)
def test_every_reference_of_an_entry_imports(entry: Any) -> None:
    """A typo in a "module:attribute" string would only show when a venue of that kind starts."""
    from monitor.venues import _load

    refs = [
        entry.collector,
        entry.point,
        entry.listing,
        entry.wallet,
        entry.key_call and entry.key_call.parse,
    ]
    for ref in filter(None, refs):
        assert callable(_load(ref)), ref
    if entry.sim_tables is not None:
        assert entry.default_tables().brackets("BTCUSDT"), entry.sim_tables


@pytest.mark.parametrize(
    ("kw", "runs", "speaks"),
    [
        ({}, BINANCE, BINANCE),
        ({"kind": "bybit"}, BYBIT, BYBIT),
        ({"kind": "binancecoinm"}, BINANCE_COINM, BINANCE_COINM),
        ({"kind": "ccxt", "exchange": "binancecoinm"}, CCXT, BINANCE_COINM),
        ({"kind": "ccxt", "exchange": "binanceusdm"}, CCXT, BINANCE),
        ({"kind": "ccxt", "exchange": "binance"}, CCXT, BINANCE),
        ({"kind": "ccxt", "exchange": "bybit"}, CCXT, BYBIT),
        ({"kind": "ccxt", "exchange": "okx"}, CCXT, OKX),
        ({"kind": "okx"}, OKX, OKX),
        ({"kind": "ccxt", "exchange": "kraken"}, CCXT, CCXT),
        ({"kind": "hyperliquid"}, HYPERLIQUID, HYPERLIQUID),
        ({"kind": "ccxt", "exchange": "hyperliquid"}, CCXT, HYPERLIQUID),
    ],
)
def test_the_collector_is_the_kinds_and_the_venue_spoken_the_exchanges(
    kw: Any, runs: Any, speaks: Any
) -> None:
    v = venue(**kw)
    assert venue_of(v) is runs
    assert spoken(v) is speaks
    if "exchange" in kw:
        assert by_ccxt_id(kw["exchange"]) is (None if speaks is CCXT else speaks)


def test_margin_model_cadence_and_simulator_follow_the_venue_spoken() -> None:
    """What `bybit_model_venues`, `cadence` and `config._simulated_as` decided with `kind ==` branches."""
    cfg = Config(venues=())
    native_bybit, ccxt_bybit = venue(kind="bybit"), venue(kind="ccxt", exchange="bybit")
    ccxt_binance, okx = venue(kind="ccxt", exchange="binance"), venue(kind="ccxt", exchange="okx")
    named = [
        VenueConfig(name=n, symbols=("BTCUSDT",), kind=x.kind, exchange=x.exchange)
        for n, x in (("a", native_bybit), ("b", ccxt_bybit), ("c", ccxt_binance), ("d", okx), ("e", venue()))
    ]
    assert bybit_model_venues(named) == {"a", "b"}
    assert [simulated_as(x) for x in (venue(), native_bybit, ccxt_bybit, ccxt_binance, okx)] == [
        "binance",
        "bybit",
        "bybit",
        "binance",
        "okx",
    ]
    assert mark_cadence_s(cfg, venue()) == mark_cadence_s(cfg, ccxt_binance) == 1.0  # `@markPrice@1s`
    assert mark_cadence_s(cfg, native_bybit) is None and mark_cadence_s(cfg, okx) is None  # on change
    tick = cfg.simulator.tick_s
    assert mark_cadence_s(cfg, venue(kind="bybit", simulator=True)) == tick  # its quiet probe confirms
    assert mark_cadence_s(cfg, venue(kind="ccxt", exchange="bybit", simulator=True)) is None  # no probe
    assert [uses_user_stream(x) for x in (venue(), native_bybit, ccxt_binance)] == [True, True, False]
    assert "depth:perp:BTCUSDT" in stream_limits(cfg, native_bybit)
    assert "depth:perp:BTCUSDT" not in stream_limits(cfg, ccxt_bybit)
    assert native_kind("bybit") == "bybit" and native_kind("binance") == "binanceusdm"


def test_endpoints_are_the_simulators_for_a_simulated_venue_and_the_configs_otherwise() -> None:
    sim = SimpleNamespace(
        futures_rest_url="http://f",
        futures_ws_url="ws://f",
        spot_rest_url="http://s",
        spot_ws_url="ws://s",
        bybit_rest_url="http://b",
        bybit_ws_url="ws://b",
        coinm_rest_url="http://c",
        coinm_ws_url="ws://c",
    )
    running = cast(Any, sim)
    assert endpoints(venue(simulator=True), running) == Endpoints("http://f", "ws://f", "http://s", "ws://s")
    assert endpoints(venue(kind="ccxt", exchange="bybit", simulator=True), running) == Endpoints(
        "http://b", "ws://b"
    )
    assert endpoints(venue(kind="binancecoinm", simulator=True), running) == Endpoints(
        "http://c", "ws://c", "http://c"
    )
    assert endpoints(venue(simulator=True), None) == Endpoints()  # no simulator running: production
    overrides = {"rest_url": "http://r", "ws_url": "ws://w", "spot_rest_url": "http://sr"}
    assert endpoints(venue(**overrides), running) == Endpoints("http://r", "ws://w", "http://sr")
    # Bybit serves spot on its one host: a ccxt Bybit venue's spot overrides point nowhere
    assert endpoints(venue(kind="ccxt", exchange="bybit", **overrides)) == Endpoints("http://r", "ws://w")


def test_a_ccxt_client_is_pointed_at_its_venues_production_sockets_unless_told_otherwise() -> None:
    ex = ccxtpro.binanceusdm({})
    BINANCE.point_client(ex, Endpoints(rest="http://127.0.0.1:1"))
    assert ex.urls["api"]["fapiPublic"].startswith("http://127.0.0.1:1/fapi/")
    assert ex.urls["api"]["ws"]["linear"] == "wss://fstream.binance.com/ws"
    bybit = ccxtpro.bybit({})
    BYBIT.point_client(bybit, Endpoints(ws="ws://127.0.0.1:2"))
    assert bybit.urls["api"]["ws"]["public"]["linear"] == "ws://127.0.0.1:2/v5/public/linear"
    okx = ccxtpro.okx({})
    OKX.point_client(okx, Endpoints(rest="http://127.0.0.1:3"))
    assert (okx.urls["api"]["rest"], okx.urls["api"]["ws"]) == (
        "http://127.0.0.1:3",
        "wss://ws.okx.com:8443/ws/v5",
    )


# a config entry's kind or exchange id compared with a venue's name (or a table of them)
_BRANCH = re.compile(
    r"""\.(kind|exchange)\s*(==|!=|in|not in)\s*"""
    r"""([A-Z_]{3,}\b|[(\[{]?\s*["'](binanceusdm|binance|bybit|ccxt|okx)["'])"""
)


def branches(root: Path) -> list[str]:
    return [
        f"{p.relative_to(root)}:{n}"
        for p in sorted(root.rglob("*.py"))
        if p.name != "venues.py"
        for n, line in enumerate(p.read_text().splitlines(), 1)
        if _BRANCH.search(line)
    ]


def test_the_venue_kind_is_branched_on_in_the_registry_only() -> None:
    """`grep` finds no `v.kind == "bybit"` outside monitor/venues.py."""
    assert branches(Path(monitor.__file__).parent) == []


def test_the_branch_finder_finds_the_branches_this_registry_replaced(tmp_path: Path) -> None:
    """Lines as they stood in app.py, cadence.py and account_bybit.py before the registry."""
    (tmp_path / "old.py").write_text(
        'if v.kind == "bybit" or (v.kind == "ccxt" and v.exchange == "bybit"):\n'
        '    if v.kind == "binanceusdm" or v.exchange in BINANCE_CCXT_IDS:\n'
        '        return v.kind in ("binanceusdm", "bybit") and v.user_stream\n'
        'if p.kind == "table" and fill.kind != "trade":\n'
    )
    assert branches(tmp_path) == ["old.py:1", "old.py:2", "old.py:3"]


@pytest.mark.parametrize(
    ("exchange_id", "quirks", "spot"),
    [
        ("binanceusdm", BINANCE, "binance"),
        ("binancecoinm", BINANCE, "binance"),  # the family shares ccxt's Binance replies
        ("bybit", BYBIT, ""),
        ("okx", OKX, ""),
        ("kraken", None, ""),
    ],
)
def test_ccxt_quirks_follow_the_id_and_its_family(exchange_id: str, quirks: Any, spot: str) -> None:
    """What `startswith("binance")` and `== "okx"` in the generic collector decided."""
    found = ccxt_quirks(exchange_id)
    assert found is quirks
    assert (found.spot_ccxt_id if found is not None else "") == spot


def test_a_books_kind_reads_its_margin_facts_from_the_entry() -> None:
    """What the what-if's `kind == "bybit"` branches decided: Bybit values MM at entry, one margin
    mode per account, its own tier call and default tables; Binance at the mark, per position."""
    bybit, binance = model_venue("bybit"), model_venue("binance")
    assert (bybit, binance) == (BYBIT, BINANCE)
    assert bool(bybit.one_margin_mode) and not binance.one_margin_mode
    assert "risk-limit" in bybit.tiers_call and "leverageBracket" in binance.tiers_call
    by, bn = bybit.default_tables(), binance.default_tables()
    assert by is not None and bn is not None and by is not bn
    assert by.funding_cap("BTCUSDT") > 0 and by.funding_cap("NOPEUSDT") != by.funding_cap("NOPEUSDT")
    assert bn.funding_cap("BTCUSDT") != bn.funding_cap("BTCUSDT")  # NaN: the evaluator's Binance rule
    assert bn.brackets("NOPEUSDT") is None and "NOPEUSDT" in bn.missing("NOPEUSDT")
