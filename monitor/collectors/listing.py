"""`symbols = ["*"]`: watch every USDT perpetual a venue lists, without naming them.

A desk wants every symbol its accounts trade watched; listing them by hand goes stale the day the
venue lists a new contract. "*" in a venue entry's `symbols` is resolved from the venue itself:

* at start, before anything is built from the config (`resolve_listings`, called by the daemon):
  Binance's `GET /fapi/v1/exchangeInfo` (perpetual, trading, margined in USDT), Bybit's
  `GET /v5/market/instruments-info?category=linear` (LinearPerpetual, Trading, settled in USDT,
  every cursor page), ccxt's `load_markets()` (active linear swaps settled in USDT, their venue
  ids). The listed names are put in the entry after the "*" (which stays, so the collector knows
  the entry follows the listing), so backfill, stream limits and the evaluator's expected
  streams cover every one of them as if they had been written out;
* at every reference refresh (`REFERENCE_REFRESH_S`), the collector reads the listing again and
  hands a contract listed since start to `HeldSymbols.note`, the same runtime path as a symbol an
  account is found holding: its streams are subscribed and its funding interval read, without a
  restart (its streams are not "expected" by the evaluator until an account holds it, as for any
  held symbol).

A venue that cannot be reached at start does not stop the daemon: its entry keeps the named
symbols (if any) and the collector's first reference refresh adds the rest. `spot_symbols = ["*"]`
is refused by the config check: every spot book a venue lists is thousands of streams of which a
desk uses the few that value holdings and basis.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any

import aiohttp
import msgspec
import structlog

from monitor.config import Config, VenueConfig
from monitor.venues import spoken, venue_of

__all__ = [
    "ALL",
    "binance_listed",
    "bybit_listed",
    "ccxt_listed",
    "fetch_binance",
    "fetch_bybit",
    "fetch_ccxt",
    "follows_listing",
    "keep_listed",
    "named",
    "resolve_listings",
    "with_listed",
]

log = structlog.get_logger(__name__)

ALL = "*"
_TIMEOUT_S = 15.0
_BINANCE = "https://fapi.binance.com"
_BYBIT = "https://api.bybit.com"


def named(symbols: Iterable[str]) -> tuple[str, ...]:
    """The symbols themselves, "*" left out."""
    return tuple(s for s in symbols if s != ALL)


def follows_listing(v: VenueConfig) -> bool:
    return ALL in v.symbols


def binance_listed(body: Any) -> list[str]:
    """exchangeInfo → the USDT-margined perpetuals now trading."""
    rows = body.get("symbols", []) if isinstance(body, dict) else []
    return [
        str(r["symbol"])
        for r in rows
        if isinstance(r, dict)
        and r.get("contractType") == "PERPETUAL"
        and r.get("status") == "TRADING"
        and r.get("marginAsset", r.get("quoteAsset")) == "USDT"
        and "symbol" in r
    ]


def bybit_listed(result: Any) -> list[str]:
    """instruments-info `result` → the USDT linear perpetuals now trading."""
    rows = result.get("list", []) if isinstance(result, dict) else []
    return [
        str(r["symbol"])
        for r in rows
        if isinstance(r, dict)
        and r.get("contractType") == "LinearPerpetual"
        and r.get("status") == "Trading"
        and r.get("settleCoin", "USDT") == "USDT"
        and "symbol" in r
    ]


def ccxt_listed(markets: Any) -> list[str]:
    """ccxt's markets → the config names (`BASEQUOTE`) of active linear swaps settled in USDT."""
    return [
        f"{m['base']}{m['quote']}".upper()
        for m in (markets or {}).values()
        if m.get("swap")
        and m.get("linear")
        and m.get("settle") == "USDT"
        and m.get("active", True) is not False
    ]


def with_listed(v: VenueConfig, listed: Sequence[str]) -> VenueConfig:
    """The entry with the listed symbols after its own ("*" and the named ones first, in order)."""
    if not follows_listing(v):
        return v
    return msgspec.structs.replace(v, symbols=tuple(dict.fromkeys((*v.symbols, *listed))))


def keep_listed(running: Config, new: Config) -> Config:
    """A reloaded config: each "*" entry gets the symbols the running one resolved (a reload does not
    re-read the listing; the reference refresh keeps adding new ones as at start)."""
    old = {v.name: v for v in running.venues}
    venues = tuple(
        with_listed(v, named(old[v.name].symbols)) if v.name in old and follows_listing(old[v.name]) else v
        for v in new.venues
    )
    return msgspec.structs.replace(new, venues=venues)


async def _get_json(session: aiohttp.ClientSession, url: str, params: dict[str, str]) -> Any:
    async with session.get(url, params=params) as resp:
        resp.raise_for_status()
        return await resp.json(content_type=None)


async def fetch_binance(v: VenueConfig, rest: str | None) -> list[str]:
    timeout = aiohttp.ClientTimeout(total=_TIMEOUT_S)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        body = await _get_json(session, f"{(rest or _BINANCE).rstrip('/')}/fapi/v1/exchangeInfo", {})
    return binance_listed(body)


async def fetch_bybit(v: VenueConfig, rest: str | None) -> list[str]:
    timeout = aiohttp.ClientTimeout(total=_TIMEOUT_S)
    out: list[str] = []
    cursor = ""
    async with aiohttp.ClientSession(timeout=timeout) as session:
        for _ in range(20):  # pages of 1,000: the venue lists a few hundred
            params = {"category": "linear", "limit": "1000"} | ({"cursor": cursor} if cursor else {})
            body = await _get_json(
                session, f"{(rest or _BYBIT).rstrip('/')}/v5/market/instruments-info", params
            )
            result = body.get("result", {}) if isinstance(body, dict) else {}
            out += bybit_listed(result)
            cursor = str(result.get("nextPageCursor") or "") if isinstance(result, dict) else ""
            if not cursor:
                break
    return out


async def fetch_ccxt(v: VenueConfig, rest: str | None) -> list[str]:
    """Through ccxt.pro's `load_markets` at its own hosts (`rest` is for the native paths)."""
    import ccxt.pro  # only configs that use the generic collector pay for this import

    ex = getattr(ccxt.pro, v.exchange or "")({"options": {"fetchCurrencies": False}})
    try:
        return ccxt_listed(await ex.load_markets())
    finally:
        await ex.close()


Fetch = Callable[[VenueConfig], Awaitable[list[str]]]


def default_fetch(rest_url: Callable[[VenueConfig], str | None]) -> Fetch:
    """Fetch a venue's listing; `rest_url` says where its REST lives (the simulator's, an override)."""

    async def fetch(v: VenueConfig) -> list[str]:
        venue = spoken(v) if v.simulator else venue_of(v)  # the simulator speaks its venue's own REST
        return await venue.fetch_listing()(v, rest_url(v))

    return fetch


async def resolve_listings(cfg: Config, fetch: Fetch) -> Config:
    """`cfg` with every "*" entry's listed symbols added; a venue that cannot answer keeps its own."""
    venues = []
    for v in cfg.venues:
        if not follows_listing(v):
            venues.append(v)
            continue
        try:
            listed = await fetch(v)
        except Exception as exc:
            log.warning("venue listing unavailable at start", venue=v.name, error=type(exc).__name__)
            listed = []
        log.info("watching every listed symbol", venue=v.name, symbols=len(listed))
        venues.append(with_listed(v, listed))
    return msgspec.structs.replace(cfg, venues=tuple(venues))
