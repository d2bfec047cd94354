"""Hyperliquid perpetuals: `activeAssetCtx` on the venue's socket for marks and funding, accounts by address.

Markets take the native fast path (`wsfeed.WsFeed`: per-stream liveness, paced subscribes,
make-before-break) in Hyperliquid's dialect: one `{"method":"subscribe","subscription":{"type":
"activeAssetCtx","coin":…}}` per coin, and an application `{"method":"ping"}` well inside the
venue's 60 s idle cut [doc]. Each context carries the mark, the oracle (perpmon's index) and the
hourly funding rate. Accounts are read by wallet address: `clearinghouseState` over REST and on
the socket (`account.HlAccount`), no key, so the key check has nothing to refuse. Reference data
(hourly funding with its ±4 %/h cap, listings for `symbols = ["*"]`, a REST seed of marks) comes from
`metaAndAssetCtxs` (weight 20: every `REFERENCE_REFRESH_S`, never polled for marks [doc]).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import partial
from typing import Any

from monitor.collectors.base import AccountAccess
from monitor.collectors.held import Topic
from monitor.collectors.hyperliquid.account import HlAccount
from monitor.collectors.hyperliquid.history import HlHistory
from monitor.collectors.hyperliquid.margin_wire import parse_meta_and_asset_ctxs
from monitor.collectors.hyperliquid.wire import ctx_marks, funding_infos, parse_public_frame
from monitor.collectors.keys import KeyPermissions
from monitor.collectors.listing import follows_listing
from monitor.collectors.native import NativeCollector
from monitor.collectors.wsfeed import WsDialect, WsFeed

__all__ = ["HL_DIALECT", "HyperliquidCollector"]


def _subscribe(topics: list[str], request_id: int) -> str:
    """`max_batch = 1`: one subscription per message, as the venue takes them."""
    kind, _, coin = topics[0].partition(":")
    return json.dumps({"method": "subscribe", "subscription": {"type": kind, "coin": coin}})


def _ping(n: int) -> str:
    return '{"method":"ping"}'


def _is_pong(raw: bytes | str) -> bool:
    try:
        frame = json.loads(raw)
    except ValueError:
        return False
    return isinstance(frame, dict) and frame.get("channel") == "pong"


HL_DIALECT = WsDialect(subscribe=_subscribe, max_batch=1, app_ping=_ping, app_ping_s=30.0, is_pong=_is_pong)


class HyperliquidCollector(NativeCollector):
    def _history_source(self) -> HlHistory:
        return HlHistory()

    def _watcher(self, name: str, access: AccountAccess) -> HlAccount:
        address = next(a.address for a in self.full_cfg.accounts if a.name == name)
        assert address is not None  # config checks: a Hyperliquid account has one
        # every reply is the whole state: REST polls at poll_s beside the socket (`account.HlAccount`)
        args = self._watcher_args(name) | {"user_stream": False}
        ws_url = f"{self.ws.rstrip('/')}/ws" if self.cfg.user_stream else ""
        return HlAccount(**args, address=address.lower(), symbols=self.cfg.symbols, ws_url=ws_url)

    async def _permissions(self, name: str) -> KeyPermissions:
        """Read by a public address: there is no key, so nothing it could trade or withdraw."""
        return KeyPermissions()

    def _topics(self, symbols: Sequence[str], spot_symbols: Sequence[str]) -> dict[str, list[Topic]]:
        return {"perp": [(f"activeAssetCtx:{s}", (f"mark:{s}",)) for s in symbols]}

    def _feed(self, kind: str, index: int, topics: Sequence[Topic]) -> WsFeed:
        return self._socket(
            kind,
            index,
            topics,
            url=f"{self.ws.rstrip('/')}/ws",
            parse=partial(parse_public_frame, venue=self.venue),
            dialect=HL_DIALECT,
        )

    async def _seed_marks(self, ex: Any) -> None:
        body = await self.rest.call(ex, ex.publicPostInfo, {"type": "metaAndAssetCtxs"})
        for rec in ctx_marks(body, self.venue, self.clock.now_ns(), self.held.watched):
            self.sink.put(rec)

    async def _reference(self, ex: Any) -> None:
        body = await self.rest.call(ex, ex.publicPostInfo, {"type": "metaAndAssetCtxs"})
        meta = parse_meta_and_asset_ctxs(body).meta
        if follows_listing(self.cfg):  # ["*"]: every listed coin not delisted
            self.held.note([a.name for a in meta.universe if not a.is_delisted], "newly listed")
        for fi in funding_infos(meta, self.venue, self.clock.now_ns(), self.held.watched):
            self.sink.put(fi)
