"""One Hyperliquid account, read by its address: `clearinghouseState` over REST and over the socket.

No key: Hyperliquid's info endpoint and socket answer for any address [doc], so the account is its
42-character address (`accounts[].address`), which is public, not a secret. Every reply and every
`clearinghouseState` frame is the account's complete state, so there is nothing to merge: each
becomes an `AccountSnapshot` as it comes. REST keeps polling at `poll_s` beside the socket (the
venue pushes on change; a quiet account must not look stale, and a missed push is repaired within
a poll). Tiers come from `meta` (per coin, `hl_asset_brackets`), refreshed with the reference data.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

import structlog
from websockets.asyncio.client import ClientConnection

from monitor.collectors.account_watch import AccountWatcher
from monitor.collectors.hyperliquid.margin_wire import parse_clearinghouse_state, parse_meta_and_asset_ctxs
from monitor.collectors.hyperliquid.wire import account_parts, leverage_tiers, parse_account
from monitor.collectors.wsfeed import NETWORK_ERRORS
from monitor.config.records import SymbolOrAll
from monitor.errors import FeedError, ParseError
from monitor.records import AccountSnapshot

__all__ = ["HlAccount"]

log = structlog.get_logger(__name__)
PING_S = 30.0  # the venue closes a socket silent for 60 s [doc]


class HlAccount(AccountWatcher):
    def __init__(
        self, *, address: str, symbols: tuple[SymbolOrAll, ...], ws_url: str = "", **kw: Any
    ) -> None:
        super().__init__(**kw)
        self.address = address
        self._symbols = symbols
        self._url = ws_url

    async def _reference(self, ex: Any) -> None:
        body = await self._rest.call(ex, ex.publicPostInfo, {"type": "metaAndAssetCtxs"})
        meta = parse_meta_and_asset_ctxs(body).meta
        every = "*" in self._symbols
        coins = {a.name for a in meta.universe} if every else {*self._symbols, *self.held_symbols}
        for tiers in leverage_tiers(meta, self.venue, self.name, self._clock.now_ns(), coins):
            self._sink.put(tiers)

    async def _rest_snapshot(self, ex: Any) -> AccountSnapshot:
        body = await self._rest.call(
            ex, ex.publicPostInfo, {"type": "clearinghouseState", "user": self.address}
        )
        positions, balances = parse_account(body)
        return self._snapshot(positions, balances)

    # ---------------------------------------------------------------- the socket
    async def user_loop(self) -> None:
        """`clearinghouseState {user}` on the venue's socket, reconnected with backoff (none: no URL)."""
        if not self._url:
            await asyncio.Event().wait()
        delays = self._backoff()
        while True:
            try:
                if await self._session():
                    delays = self._backoff()
            except (*NETWORK_ERRORS, FeedError) as exc:
                log.warning(
                    "account stream failed", account=self.name, error=f"{type(exc).__name__}: {exc}"[:300]
                )
            await self._reconnect_after(next(delays))

    async def _session(self) -> bool:
        ws = await self._open()
        opened = self._clock.monotonic_ns()
        pinger = asyncio.ensure_future(self._ping(ws))
        try:
            sub = {"type": "clearinghouseState", "user": self.address}
            await ws.send(json.dumps({"method": "subscribe", "subscription": sub}))
            self._stats.connected[self.socket] = True
            await self._read_for_max_age(ws, self._handle)
        finally:
            await self._close_socket(ws, pinger)
        return self._lasted(opened)

    async def _open(self) -> ClientConnection:
        return await self._open_socket(self._url)  # the cooldown checked again after the pacer

    async def _ping(self, ws: ClientConnection) -> None:
        with contextlib.suppress(*NETWORK_ERRORS):
            while True:
                await self._clock.sleep(PING_S)
                await ws.send('{"method":"ping"}')

    def _handle(self, raw: bytes | str) -> None:
        """A `clearinghouseState` frame for this address → a snapshot; acks and pongs are nothing;
        anything malformed is counted and dropped."""
        try:
            frame = json.loads(raw)
            if not isinstance(frame, dict):
                raise ParseError("schema", "frame is not an object")
            if frame.get("channel") != "clearinghouseState":
                if frame.get("channel") == "error":
                    raise ParseError("venue_error", str(frame.get("data"))[:80])
                return
            data = frame.get("data")
            if not isinstance(data, dict) or str(data.get("user", "")).lower() != self.address:
                raise ParseError("schema", "clearinghouseState for another user")
            positions, balances = account_parts(
                parse_clearinghouse_state(data.get("clearinghouseState") or {})
            )
        except ValueError:
            self._stats.drop("json")
            return
        except ParseError as exc:
            self._stats.drop(exc.reason)
            return
        snap = self._snapshot(positions, balances)
        if self._note_held(snap):
            self.wake()  # a coin first seen: the reconciler fetches its tiers now
        self._sink.put(snap)
        self._stats.messages[self.socket] += 1
