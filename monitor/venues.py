"""The venues perpmon speaks, one entry each: the one place a configured venue's kind is read.

A venue's kind decides its collector, its margin model, how often its marks arrive, where its
hosts are and how the simulator stands in for it. Those answers used to be `if kind == …`
branches in eight modules, so a new venue meant finding all eight; now each is a field of the
venue's `Venue` entry, and adding a venue is a package under `collectors/` and one entry here
(docs/adding-a-venue.md).

Two questions are kept apart. `venue_of(v)` is the entry of `v.kind`: the collector that runs it.
`spoken(v)` is the venue `v` talks to, which is the same entry except for the generic ccxt
collector (`kind = "ccxt"`), which speaks whatever `exchange` names: `exchange = "bybit"` is on
Bybit's margin model, hosts and simulator although the generic collector runs it.

Entries name their code as "module:attribute" strings, imported on first use: reading the
registry (config validation does) imports no collector, no ccxt and no simulator.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from monitor.collectors.base import Collector
    from monitor.collectors.keys import KeyPermissions
    from monitor.config import VenueConfig
    from monitor.records import Balance
    from monitor.sim.defaults import DefaultTables
    from monitor.sim.server import Simulator

__all__ = [
    "VENUES",
    "Endpoints",
    "KeyCall",
    "Kind",
    "MarginModel",
    "Simulated",
    "Venue",
    "by_ccxt_id",
    "ccxt_quirks",
    "endpoints",
    "kinds",
    "model_venue",
    "native_kind",
    "simulated_as",
    "spoken",
    "venue_of",
]

Ref = str  # "package.module:attribute", imported when first used
# `VenueConfig.kind`: the entries with a collector
Kind = Literal["binanceusdm", "binancecoinm", "bybit", "okx", "hyperliquid", "ccxt"]
MarginModel = Literal["binance", "bybit", "hyperliquid"]
# the venues the simulator serves (`SimAccountConfig.venue`)
Simulated = Literal["binance", "bybit", "binance_coinm", "okx", "hyperliquid"]


def _load(ref: Ref) -> Any:
    module, _, attr = ref.partition(":")
    return getattr(importlib.import_module(module), attr)


@dataclass(frozen=True, slots=True)
class Endpoints:
    """Where a venue's clients connect; None keeps its production URL (ccxt's REST, the entry's
    socket bases). `spot_*`: venues whose spot market is on a host of its own (Binance)."""

    rest: str | None = None
    ws: str | None = None
    spot_rest: str | None = None
    spot_ws: str | None = None


@dataclass(frozen=True, slots=True)
class KeyCall:
    """How a key's permissions are read: the ccxt method to call, the parser of its reply."""

    method: str
    parse: Ref  # (reply) -> KeyPermissions

    def parser(self) -> Callable[[Any], KeyPermissions]:
        parse: Callable[[Any], KeyPermissions] = _load(self.parse)
        return parse


@dataclass(frozen=True, slots=True)
class Venue:
    """Everything the tree asks about a venue, so that nothing outside this module names one."""

    name: str  # in messages: "Binance USDⓈ-M"
    kind: Kind | None = None  # `VenueConfig.kind` of its own collector; None: reached through ccxt only
    collector: Ref | None = None  # class taking (venue, cfg, endpoints, accounts, sink, clock)
    # the collector speaks whichever venue `exchange` names (the generic ccxt one)
    by_exchange_id: bool = False
    ccxt_ids: tuple[str, ...] = ()  # ccxt ids that speak this venue; the first signs the native REST
    # the margin model the evaluator applies; Binance's tiered one unless the venue has its own
    margin_model: MarginModel = "binance"
    mark_every_s: float | None = None  # marks pushed every so often (Binance `@1s`); None: on change
    # what its own collector does beyond the generic one: a private stream for account deltas,
    # perp book levels (`depth_levels`), REST confirmation of a quiet stream (`wsfeed.QuietProbe`)
    private_stream: bool = False
    book_levels: bool = False
    confirms_quiet: bool = False
    spot_host: bool = False  # spot on a host of its own (`spot_rest_url`, `spot_ws_url` apply)
    ws: str = ""  # its production socket bases (REST: ccxt's own)
    spot_ws: str = ""
    point: Ref | None = None  # (ccxt client, Endpoints) -> None: the client pointed at other hosts
    key_call: KeyCall | None = None
    listing: Ref | None = None  # async (VenueConfig, rest url or None) -> its USDT perpetuals
    simulated_as: Simulated | None = None  # the simulator's venue that stands in for it; None: none
    simulated: Callable[[Simulator], Endpoints] | None = None  # the running simulator's hosts for it
    # the simulated venue whose engine holds the generated `[simulator] universe_accounts`
    universe: bool = False
    # how its margin model reads a book (what-if checks a hand-written one with these):
    # the account whose margin mode (cross or isolated) is its own, not each position's; "": per position
    one_margin_mode: str = ""
    tiers_call: str = ""  # the REST call listing its tier table, named when a default stands in
    sim_tables: Ref | None = None  # its `sim.defaults.DefaultTables`: the simulator's tiers, funding caps
    # ccxt's quirks for its ids: ids starting with `ccxt_family` share them (binancecoinm, binanceus)
    ccxt_family: str = ""
    spot_ccxt_id: str = ""  # the ccxt id of its spot market where not the perp client's own
    # per ccxt id, options merged into a client's `options` (a copy is taken per client)
    ccxt_options: Mapping[str, Mapping[str, Any]] = field(
        default_factory=lambda: MappingProxyType({}), hash=False, compare=False
    )
    # the funding interval of a symbol its funding-info reply leaves out (Binance lists only adjusted
    # ones); None: an interval not given is not known
    unlisted_interval_h: float | None = None
    # (fetch_balance's raw `info`) -> balances or None: the wallet where ccxt's `total` is the equity
    wallet: Ref | None = None
    reads_by_address: bool = False  # accounts are a public address (`accounts[].address`), no key

    def new_collector(self, **parts: Any) -> Collector:
        """Its collector, built from `collectors.common.VenueCollector`'s keyword arguments."""
        if self.collector is None:
            raise ValueError(f'{self.name} has no collector of its own: use kind = "ccxt"')
        c: Collector = _load(self.collector)(**parts)
        return c

    def point_client(self, exchange: Any, at: Endpoints) -> None:
        """Point a ccxt client of this venue at `at` (its production sockets where `at` has none)."""
        if self.point is not None:
            resolved = Endpoints(
                at.rest, at.ws or self.ws or None, at.spot_rest, at.spot_ws or self.spot_ws or None
            )
            _load(self.point)(exchange, resolved)

    def read_wallet(self, info: Mapping[str, Any]) -> tuple[Balance, ...] | None:
        """The wallet per asset from fetch_balance's raw `info` (None: ccxt's `total` is the wallet,
        or `info` is not the reply its reader knows)."""
        if self.wallet is None:
            return None
        read: Callable[[Mapping[str, Any]], tuple[Balance, ...] | None] = _load(self.wallet)
        return read(info)

    def default_tables(self) -> DefaultTables | None:
        """The simulator's tier tables and funding caps for its margin model (None: it has none)."""
        if self.sim_tables is None:
            return None
        tables: DefaultTables = _load(self.sim_tables)
        return tables

    def fetch_listing(self) -> Callable[[VenueConfig, str | None], Awaitable[list[str]]]:
        if self.listing is None:
            raise ValueError(f"{self.name} cannot list its perpetuals")
        fetch: Callable[[VenueConfig, str | None], Awaitable[list[str]]] = _load(self.listing)
        return fetch


def _simulated_binance(s: Simulator) -> Endpoints:
    return Endpoints(s.futures_rest_url, s.futures_ws_url, s.spot_rest_url, s.spot_ws_url)


def _simulated_bybit(s: Simulator) -> Endpoints:
    return Endpoints(s.bybit_rest_url, s.bybit_ws_url)


def _simulated_coinm(s: Simulator) -> Endpoints:
    return Endpoints(s.coinm_rest_url, s.coinm_ws_url, s.coinm_rest_url)  # its key check too


BINANCE = Venue(
    name="Binance USDⓈ-M",
    kind="binanceusdm",
    collector="monitor.collectors.binance.collector:BinanceUsdmCollector",
    ccxt_ids=("binanceusdm", "binance"),
    mark_every_s=1.0,  # `@markPrice@1s`
    private_stream=True,
    book_levels=True,
    spot_host=True,
    ws="wss://fstream.binance.com",
    spot_ws="wss://stream.binance.com:9443",
    point="monitor.collectors.ccxt_urls:point_binance",
    key_call=KeyCall("sapiGetAccountApiRestrictions", "monitor.collectors.keys:binance_permissions"),
    listing="monitor.collectors.listing:fetch_binance",
    simulated_as="binance",
    simulated=_simulated_binance,
    universe=True,
    tiers_call="GET /fapi/v1/leverageBracket",
    sim_tables="monitor.sim.defaults:BINANCE_TABLES",
    ccxt_family="binance",
    spot_ccxt_id="binance",
    # the spot client (id `binance`) loads spot and linear markets only, not options and inverse
    ccxt_options=MappingProxyType({"binance": {"fetchMarkets": {"types": ["spot", "linear"]}}}),
    unlisted_interval_h=8.0,
    wallet="monitor.collectors.generic.convert:binance_wallets",
)
BINANCE_COINM = Venue(  # inverse perpetuals: positions in contracts, margin in coin (issue 17)
    name="Binance COIN-M",
    kind="binancecoinm",
    collector="monitor.collectors.binance_coinm.collector:BinanceCoinmCollector",
    ccxt_ids=("binancecoinm",),
    mark_every_s=1.0,  # `@markPrice@1s`
    private_stream=True,
    ws="wss://dstream.binance.com",
    point="monitor.collectors.ccxt_urls:point_binance_coinm",
    key_call=KeyCall("sapiGetAccountApiRestrictions", "monitor.collectors.keys:binance_permissions"),
    simulated_as="binance_coinm",
    simulated=_simulated_coinm,
    tiers_call="GET /dapi/v2/leverageBracket",
    unlisted_interval_h=8.0,
    wallet="monitor.collectors.generic.convert:binance_wallets",
)
BYBIT = Venue(
    name="Bybit v5",
    kind="bybit",
    collector="monitor.collectors.bybit.collector:BybitCollector",
    ccxt_ids=("bybit",),
    margin_model="bybit",
    private_stream=True,
    book_levels=True,
    confirms_quiet=True,
    ws="wss://stream.bybit.com",  # + /v5/public/linear, /v5/public/spot, /v5/private
    point="monitor.collectors.ccxt_urls:point_bybit",
    key_call=KeyCall("privateGetV5UserQueryApi", "monitor.collectors.keys:bybit_permissions"),
    listing="monitor.collectors.listing:fetch_bybit",
    simulated_as="bybit",
    simulated=_simulated_bybit,
    one_margin_mode="Bybit unified account",
    tiers_call="GET /v5/market/risk-limit",
    sim_tables="monitor.sim.defaults:BYBIT_TABLES",
    wallet="monitor.collectors.generic.convert:bybit_wallets",
)


# --- OKX (issue 18): USDT-margined swaps; simulated by monitor/sim/okx/ -------------------------
def _simulated_okx(s: Simulator) -> Endpoints:
    return Endpoints(s.okx.rest_url, s.okx.ws_url)


OKX = Venue(  # margin model: Binance's until the account stage takes OKX's (docs/venues/okx.md)
    name="OKX",
    kind="okx",
    collector="monitor.collectors.okx.collector:OkxCollector",
    ccxt_ids=("okx",),
    private_stream=True,
    ws="wss://ws.okx.com:8443",  # + /ws/v5/public, /ws/v5/private
    point="monitor.collectors.ccxt_urls:point_okx",
    key_call=KeyCall("privateGetAccountConfig", "monitor.collectors.keys:okx_permissions"),
    simulated_as="okx",
    simulated=_simulated_okx,
    wallet="monitor.collectors.generic.convert:okx_wallets",
)
# --- end OKX ---------------------------------------------------------------------------------------


# --- Hyperliquid (issue 18): perps by coin, USDC-settled, accounts read by address ------------------
def _simulated_hyperliquid(s: Simulator) -> Endpoints:
    return Endpoints(s.hyperliquid_url, s.hyperliquid_url.replace("http", "ws", 1))


HYPERLIQUID = Venue(
    name="Hyperliquid",
    kind="hyperliquid",
    collector="monitor.collectors.hyperliquid.collector:HyperliquidCollector",
    ccxt_ids=("hyperliquid",),
    # its tiers (mmr = 1/(2·maxLeverage), deductions recursed) in the tiered mark-valued solver:
    # Hyperliquid's documented LP (risk/hyperliquid_margin.py; equal to it, tests/unit/risk)
    margin_model="hyperliquid",
    ws="wss://api.hyperliquid.xyz",  # + /ws
    point="monitor.collectors.ccxt_urls:point_hyperliquid",
    simulated_as="hyperliquid",
    simulated=_simulated_hyperliquid,
    reads_by_address=True,
)
# --- end Hyperliquid ---------------------------------------------------------------------------
CCXT = Venue(
    name="ccxt",
    kind="ccxt",
    collector="monitor.collectors.generic.collector:CcxtProCollector",
    by_exchange_id=True,
    listing="monitor.collectors.listing:fetch_ccxt",
)
VENUES: tuple[Venue, ...] = (BINANCE, BINANCE_COINM, BYBIT, OKX, HYPERLIQUID, CCXT)
_BY_KIND = {v.kind: v for v in VENUES if v.kind is not None}


def kinds() -> tuple[Kind, ...]:
    """The kinds a `[[venues]]` entry may name."""
    return tuple(_BY_KIND)


def model_venue(model: MarginModel) -> Venue:
    """The venue with a collector of its own on margin model `model` (a what-if book's venue kind)."""
    return next(x for x in VENUES if x.margin_model == model and x.kind and not x.by_exchange_id)


def native_kind(model: MarginModel) -> Kind:
    """The kind of the native collector on margin model `model`."""
    return next(x.kind for x in VENUES if x.margin_model == model and x.kind and not x.by_exchange_id)


def venue_of(v: VenueConfig) -> Venue:
    """The entry of `v.kind`: the collector that runs `v`."""
    return _BY_KIND[v.kind]


def by_ccxt_id(exchange_id: str) -> Venue | None:
    return next((x for x in VENUES if exchange_id in x.ccxt_ids), None)


def ccxt_quirks(exchange_id: str) -> Venue | None:
    """The entry whose ccxt quirks a client of `exchange_id` has: an id it lists, or one of its family."""
    return next(
        (
            x
            for x in VENUES
            if exchange_id in x.ccxt_ids or (x.ccxt_family and exchange_id.startswith(x.ccxt_family))
        ),
        None,
    )


def spoken(v: VenueConfig) -> Venue:
    """The venue `v` talks to: its kind's, or for the generic collector the one `exchange` names
    (the generic entry itself for an exchange no entry lists)."""
    own = venue_of(v)
    if own.by_exchange_id:
        return by_ccxt_id(v.exchange or "") or own
    return own


def simulated_as(v: VenueConfig) -> Simulated | None:
    """Which simulated venue `v` talks to, None for one the simulator does not speak."""
    return spoken(v).simulated_as


def endpoints(v: VenueConfig, simulator: Simulator | None = None) -> Endpoints:
    """Where `v`'s clients connect: the running simulator's hosts for a simulated venue, else the
    config's overrides (None: production)."""
    venue = spoken(v)
    if v.simulator and simulator is not None and venue.simulated is not None:
        return venue.simulated(simulator)
    return Endpoints(
        v.rest_url,
        v.ws_url,
        v.spot_rest_url if venue.spot_host else None,
        v.spot_ws_url if venue.spot_host else None,
    )
