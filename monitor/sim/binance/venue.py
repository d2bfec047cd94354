"""What every request handler of the simulated venue shares, and the checks they all make."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from monitor.clock import Clock
from monitor.config import SimulatorConfig
from monitor.sim.binance.accounts import AccountEngine
from monitor.sim.binance.auth import KeyRing, SignedRequest, verify_signed
from monitor.sim.binance.open_interest import OpenInterest
from monitor.sim.binance.userstream import ListenKeys
from monitor.sim.faults import Faults
from monitor.sim.funding import FundingHistory
from monitor.sim.market import Market
from monitor.sim.replies import bad_symbol, json_reply, missing_param
from monitor.sim.symbols import SymbolSpec

__all__ = ["Venue", "host_routes"]


@dataclass
class Venue:
    cfg: SimulatorConfig
    clock: Clock
    market: Market
    engine: AccountEngine
    keys: KeyRing
    faults: Faults
    listen_keys: ListenKeys
    funding: FundingHistory
    open_interest: OpenInterest

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
    v: Venue, prefix: str, info: Callable[[int, Iterable[SymbolSpec], int], Any], weight_per_min: int
) -> list[web.RouteDef]:
    """`ping`, `time` and `exchangeInfo` (built by `info`, stating `weight_per_min`), which the
    futures (`/fapi/v1`) and spot (`/api/v3`) hosts answer alike."""

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
