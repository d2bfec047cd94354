"""The simulated Hyperliquid venue: `POST /info` and the `/ws` socket on one aiohttp app.

It rides on the Simulator's tick like the Bybit half: the replay's mark samples go to the account
engine (so it liquidates at the real lows), the hour's funding settles on the oracle, then the
socket pushes `activeAssetCtx`, `allMids` and each subscribed user's `clearinghouseState`.
Reads need no key: an account is its address (`accounts.hl_address`). Weights are the venue's
[doc]: 1,200 per minute per IP; `clearinghouseState`, `allMids`, `l2Book`, `exchangeStatus` and
`spotClearinghouseState` cost 2, every other info request 20; past it, HTTP 429.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from monitor.clock import Clock
from monitor.config import SimulatorConfig
from monitor.sim.faults import Faults
from monitor.sim.hyperliquid import payloads
from monitor.sim.hyperliquid.accounts import HlAccountEngine
from monitor.sim.hyperliquid.market import HlMarket
from monitor.sim.hyperliquid.ws import HlHub
from monitor.sim.listeners import Listeners
from monitor.sim.market import Market
from monitor.sim.replies import VenueError

__all__ = ["WEIGHT_PER_MIN", "HyperliquidVenue"]

WEIGHT_PER_MIN = 1200
_LIGHT = frozenset(
    {"l2Book", "allMids", "clearinghouseState", "orderStatus", "spotClearinghouseState", "exchangeStatus"}
)
_BAD_BODY = "Failed to deserialize the JSON body into the target type"


class HyperliquidVenue:
    def __init__(self, cfg: SimulatorConfig, clock: Clock, base: Market) -> None:
        self.clock = clock
        self.faults = Faults()
        self.market = HlMarket(base, self.now_ms())
        self.engine = HlAccountEngine((a for a in cfg.accounts if a.venue == "hyperliquid"), self.market)
        self.hub = HlHub(self, clock=clock, idle_s=60.0)
        self.listeners = Listeners(cfg.host)  # its own: another venue's outage leaves it listening
        self.faults.on_refuse(lambda s: self.listeners.refuse_for(s, clock, min(cfg.tick_s, 0.05)))
        self.faults.on_disconnect(self.hub.close_all_soon)
        self._weights: dict[tuple[str, int], int] = {}
        self.weight_per_min = WEIGHT_PER_MIN

    def now_ms(self) -> int:
        return self.clock.now_ns() // 1_000_000

    async def close(self) -> None:
        await self.hub.close_where(lambda _c: True)
        await self.listeners.close()

    def tick(self, binance_samples: list[dict[str, float]]) -> None:
        for sample in binance_samples:
            self.engine.on_marks(self.market.marks(sample))
        self.engine.settle_funding(self.market.advance(self.now_ms()))
        self.hub.broadcast()

    # --- the info endpoint ------------------------------------------------------------------
    def info(self, req: Mapping[str, Any]) -> Any:
        """One `POST /info` body → its reply; a `VenueError` (422) for what the venue refuses."""
        kind = req.get("type")
        m = self.market
        if kind == "meta":
            return payloads.meta(m)
        if kind == "metaAndAssetCtxs":
            return payloads.meta_and_asset_ctxs(m)
        if kind == "allMids":
            return {c: payloads.asset_ctx(x)["midPx"] for c, x in m.ctxs.items()}
        if kind in ("clearinghouseState", "userAbstraction", "spotClearinghouseState"):
            user = req.get("user")
            if not isinstance(user, str) or len(user) != 42 or not user.startswith("0x"):
                raise VenueError(422, 0, _BAD_BODY)
            if kind == "userAbstraction":
                return "default"
            if kind == "spotClearinghouseState":
                return {"balances": []}
            return payloads.clearinghouse_state(self.engine.state(user), self.now_ms())
        if kind == "fundingHistory":
            coin, start = req.get("coin"), req.get("startTime")
            if not isinstance(coin, str) or not isinstance(start, int):
                raise VenueError(422, 0, _BAD_BODY)
            end = req.get("endTime")
            return payloads.funding_history(m.history, coin, start, end if isinstance(end, int) else None)
        if kind == "exchangeStatus":
            return {"specialStatuses": None, "time": str(self.now_ms())}
        if kind == "perpDexs":
            return [None]
        if kind == "spotMeta":
            return _SPOT_META
        if kind == "spotMetaAndAssetCtxs":
            return [_SPOT_META, []]
        raise VenueError(422, 0, _BAD_BODY)

    def _admit(self, ip: str, weight: int) -> bool:
        minute = self.now_ms() // 60_000
        key = (ip, minute)
        used = self._weights.get(key, 0) + weight
        if used > self.weight_per_min:
            return False
        self._weights = {k: v for k, v in self._weights.items() if k[1] == minute}
        self._weights[key] = used
        return True

    async def _handle_info(self, request: web.Request) -> web.Response:
        fault = self.faults.take_rest_fault(self.now_ms() * 1_000_000)
        if fault is not None:
            return web.Response(status=fault.status, text=fault.msg)
        try:
            req = json.loads(await request.read())
        except ValueError:
            req = None
        if not isinstance(req, dict):
            return web.Response(status=422, text=_BAD_BODY)
        weight = 2 if req.get("type") in _LIGHT else 20
        if not self._admit(request.remote or "", weight):
            return web.Response(status=429, text="null")
        try:
            return web.json_response(self.info(req))
        except VenueError as err:
            return web.Response(status=err.status, text=err.msg)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/info", self._handle_info)
        app.router.add_get("/ws", self.hub.handle)
        return app


_SPOT_META: dict[str, Any] = {
    "tokens": [
        {
            "name": "USDC",
            "szDecimals": 8,
            "weiDecimals": 8,
            "index": 0,
            "tokenId": "0x6d1e7cde53ba9467b783cb7c530ce054",
            "isCanonical": True,
            "evmContract": None,
            "fullName": None,
        }
    ],
    "universe": [],
}
