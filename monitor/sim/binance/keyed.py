"""What the handlers of both simulated Binance products share: USDⓈ-M (`/fapi`, `venue.Venue`) and
COIN-M (`/dapi`, `binance_coinm.venue.CoinmVenue`).

Both authenticate SIGNED calls the same way (the raw query and body, `auth.py`), name the account
of a USER_STREAM call by its `X-MBX-APIKEY` alone, check a `symbol` parameter against what they
list, and answer `ping`, `time`, `exchangeInfo` and the listenKey calls the same way; only the
paths and the listing differ. Written once here so the COIN-M venue takes Binance's rules instead of a
copy of them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any, Protocol

from aiohttp import web

from monitor.clock import Clock
from monitor.sim.binance.auth import KeyRing, SignedRequest, verify_signed
from monitor.sim.binance.userstream import ListenKeys
from monitor.sim.replies import bad_symbol, json_reply, missing_param

__all__ = ["KeyedHost", "api_restrictions", "host_routes", "listen_key_routes", "signed_reply"]


class _Listing(Protocol):
    @property
    def specs(self) -> Mapping[str, object]: ...


class KeyedHost:
    """A Binance host's clock, keys, user streams and listing; subclasses provide the attributes."""

    clock: Clock
    keys: KeyRing
    listen_keys: ListenKeys
    market: _Listing

    def now_ms(self) -> int:
        return self.clock.now_ns() // 1_000_000

    async def signed(self, request: web.Request) -> SignedRequest:
        """Authenticate a SIGNED call over the raw query and body bytes as they arrived."""
        raw_query = request.raw_path.partition("?")[2]
        raw_body = (await request.read()).decode("utf-8", "replace")
        return verify_signed(
            self.keys, request.headers.get("X-MBX-APIKEY"), raw_query, raw_body, self.now_ms()
        )

    def api_key_account(self, request: web.Request) -> str:
        """USER_STREAM / MARKET_DATA calls: the API key header alone identifies the account."""
        return self.keys.account_for(request.headers.get("X-MBX-APIKEY"))

    def symbol(self, params: Mapping[str, str], required: bool = False) -> str | None:
        raw = params.get("symbol")
        if not raw:
            if required:
                raise missing_param("symbol")
            return None
        if raw not in self.market.specs:  # the venue wants the exact upper-case id
            raise bad_symbol()
        return raw


def host_routes(
    v: KeyedHost, prefix: str, info: Callable[[int, Iterable[Any], int], Any], weight_per_min: int
) -> list[web.RouteDef]:
    """`ping`, `time` and `exchangeInfo` (built by `info`, stating `weight_per_min`), which the
    futures (`/fapi/v1`), spot (`/api/v3`) and COIN-M (`/dapi/v1`) hosts answer alike."""

    async def ping(_r: web.Request) -> web.Response:
        return json_reply({})

    async def server_time(_r: web.Request) -> web.Response:
        return json_reply({"serverTime": v.now_ms()})

    async def exchange_info(_r: web.Request) -> web.Response:
        return json_reply(info(v.now_ms(), v.market.specs.values(), weight_per_min))

    return [
        web.get(f"{prefix}/ping", ping),
        web.get(f"{prefix}/time", server_time),
        web.get(f"{prefix}/exchangeInfo", exchange_info),
    ]


def signed_reply(
    v: KeyedHost, build: Callable[[str], Any]
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """A handler for a SIGNED read whose reply is `build(account)`, as most account reads are."""

    async def handler(request: web.Request) -> web.Response:
        req = await v.signed(request)
        return json_reply(build(req.account))

    return handler


def api_restrictions(names: Iterable[str], granted: Iterable[str], create_ms: int) -> dict[str, object]:
    """`GET /sapi/v1/account/apiRestrictions`: each of the host's permission `names`, whether the
    key has it, then the key's `createTime`."""
    have = set(granted)
    body: dict[str, object] = {name: name in have for name in names}
    body["createTime"] = create_ms
    return body


def listen_key_routes(v: KeyedHost, path: str) -> list[web.RouteDef]:
    """POST (create or extend), PUT (keep alive) and DELETE (close) of the account's listenKey."""

    async def create(request: web.Request) -> web.Response:
        return json_reply({"listenKey": v.listen_keys.create(v.api_key_account(request))})

    async def keepalive(request: web.Request) -> web.Response:
        return json_reply({"listenKey": v.listen_keys.keepalive(v.api_key_account(request))})

    async def close(request: web.Request) -> web.Response:
        v.listen_keys.close(v.api_key_account(request))
        return json_reply({})

    return [web.post(path, create), web.put(path, keepalive), web.delete(path, close)]
