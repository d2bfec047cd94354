"""One Bybit v5 unified account: REST snapshots (the shared reconciler) and the private stream.

The private socket is authenticated with `op: auth` (`[apiKey, expires_ms, hex HMAC(secret,
"GET/realtime" + expires)]`), then subscribed to `position` and `wallet`, and kept alive with
`op: ping` every 20 s (Bybit drops a silent socket). Both topics carry absolute values for what
changed, so they merge into the account book like Binance's ACCOUNT_UPDATE and wait, as there, for
a REST snapshot requested after the (re)connect before they are published. A refused auth is a
key problem, not a network one: it is logged (redacted) and retried slowly, not in a tight loop.
The socket is replaced before the venue's 24 h cut; the short gap is closed by the REST resync.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
from typing import Any

import structlog
from websockets.asyncio.client import ClientConnection

from monitor.collectors.account_book import AccountUpdate
from monitor.collectors.account_watch import AccountWatcher
from monitor.collectors.base import AccountAccess
from monitor.collectors.bybit.account_wire import (
    AuthReply,
    parse_position_list,
    parse_private_frame,
    parse_risk_limits,
    parse_wallet_balance,
)
from monitor.collectors.wsfeed import NETWORK_ERRORS
from monitor.errors import FeedError, ParseError
from monitor.records import AccountSnapshot, Position

__all__ = ["BybitAccount", "auth_message"]

log = structlog.get_logger(__name__)
PING_S = 20.0
AUTH_TIMEOUT_S = 10.0
AUTH_EXPIRY_MS = 10_000
_AUTH_REFUSED_WAIT_S = 60.0
_MAX_PAGES = 20  # 200 positions a page: 4,000 legs is far beyond any book perpmon watches


class _AuthRefused(Exception):
    pass


def auth_message(key: str, secret: str, now_ms: int) -> str:
    """The `op: auth` frame; the signature covers "GET/realtime" + the expiry (venues.md §5)."""
    expires = now_ms + AUTH_EXPIRY_MS
    sig = hmac.new(secret.encode(), f"GET/realtime{expires}".encode(), hashlib.sha256).hexdigest()
    return json.dumps({"req_id": "auth", "op": "auth", "args": [key, expires, sig]})


class BybitAccount(AccountWatcher):
    def __init__(
        self, *, private_ws: str, access: AccountAccess, symbols: tuple[str, ...], **common: Any
    ) -> None:
        super().__init__(**common)
        self._url = private_ws
        self._access = access
        self._symbols = symbols

    # ---------------------------------------------------------------- REST (the shared reconciler)
    async def _reference(self, ex: Any) -> None:
        # risk limits are asked per symbol: the configured ones and every one this account holds
        for symbol in dict.fromkeys((*self._symbols, *self.held_symbols)):
            raw = await self._rest.call(
                ex, ex.publicGetV5MarketRiskLimit, {"category": "linear", "symbol": symbol}
            )
            try:  # one symbol refused (an envelope error) costs that symbol only
                reply = parse_risk_limits(raw, self.name, self.venue, self._clock.now_ns())
            except ParseError as exc:
                self._reject_tiers(symbol, exc)
                continue
            self._put_tiers(reply, (symbol,))

    async def _rest_snapshot(self, ex: Any) -> AccountSnapshot:
        positions, wallet = await asyncio.gather(
            self._positions(ex),
            self._rest.call(ex, ex.privateGetV5AccountWalletBalance, {"accountType": "UNIFIED"}),
        )
        return self._snapshot(positions, parse_wallet_balance(wallet))

    async def _positions(self, ex: Any) -> tuple[Position, ...]:
        out: list[Position] = []
        cursor = ""
        for _ in range(_MAX_PAGES):
            params: dict[str, Any] = {"category": "linear", "settleCoin": "USDT", "limit": 200}
            if cursor:
                params["cursor"] = cursor
            page, cursor = parse_position_list(await self._rest.call(ex, ex.privateGetV5PositionList, params))
            out += page
            if not cursor:
                return tuple(out)
        raise ParseError("schema", f"position/list: more than {_MAX_PAGES} pages")

    # ---------------------------------------------------------------- private stream
    async def user_loop(self) -> None:
        delays = self._backoff()
        while True:
            try:
                if await self._session():
                    delays = self._backoff()
                wait = next(delays)
            except _AuthRefused as exc:
                log.error(
                    "private stream auth refused", account=self.name, reason=self._rest.redact(str(exc))
                )
                self._stats.events["auth_refused"] += 1
                wait = _AUTH_REFUSED_WAIT_S
            except (*NETWORK_ERRORS, FeedError) as exc:
                text = self._rest.redact(f"{type(exc).__name__}: {exc}")
                log.warning("private stream failed", account=self.name, error=text[:300])
                wait = next(delays)
            self.book.stream_lost()
            await self._reconnect_after(wait)

    async def _session(self) -> bool:
        """One authenticated connection's life; True when it lasted long enough to reset the backoff."""
        ws = await self._open_socket(self._url)
        opened = self._clock.monotonic_ns()
        pinger = asyncio.ensure_future(self._ping(ws))
        try:
            await self._authenticate(ws)
            await ws.send(json.dumps({"req_id": "sub", "op": "subscribe", "args": ["position", "wallet"]}))
            self.book.stream_connected()
            self.wake()  # the reconciler snapshots now; deltas wait for it
            self._stats.connected[self.socket] = True
            await self._read_for_max_age(ws, self._handle)
            if ws.close_code is None:
                self._stats.events["rotation"] += 1
        finally:
            await self._close_socket(ws, pinger)
        return self._lasted(opened)

    async def _authenticate(self, ws: ClientConnection) -> None:
        a = self._access
        await ws.send(auth_message(a.key.reveal(), a.secret.reveal(), self._clock.now_ns() // 1_000_000))
        async with asyncio.timeout(AUTH_TIMEOUT_S):
            async for raw in ws:
                try:
                    reply = parse_private_frame(raw)
                except ParseError as exc:
                    self._stats.drop(exc.reason)
                    continue
                if isinstance(reply, AuthReply):
                    if not reply.success:
                        raise _AuthRefused(reply.message or "auth refused")
                    return
        raise ConnectionError("closed before the auth reply")

    async def _ping(self, ws: ClientConnection) -> None:
        n = 0
        with contextlib.suppress(*NETWORK_ERRORS):
            while True:
                await self._clock.sleep(PING_S)
                n += 1
                await ws.send(json.dumps({"req_id": f"ping-{n}", "op": "ping"}))

    def _handle(self, raw: bytes | str) -> None:
        try:
            ev = parse_private_frame(raw)
        except ParseError as exc:
            self._stats.drop(exc.reason)
            return
        except Exception:  # a parser bug must not become a reconnect loop
            self._stats.drop("parser_error")
            log.exception("private frame parser raised", account=self.name)
            return
        if isinstance(ev, AccountUpdate):
            self.apply(ev, self._clock.now_ns())
