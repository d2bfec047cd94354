"""One Binance USDⓈ-M account: REST snapshots, the user data stream, and the listenKey lifecycle.

Two supervised tasks share an `AccountBook` (the reconciler is `account_watch.AccountWatcher`):

* the reconciler takes a REST snapshot (positionRisk v3 + account v3) every `poll_s` while no
  user stream is synced, every `reconcile_s` once one is, and at once when the stream
  (re)connects — the stream is delta-only, so the picture after any reconnect starts from REST;
* the user stream POSTs a listenKey, connects `/private/ws?listenKey=…`, PUTs the key every
  `keepalive_s` (well inside its 60 min life) and starts over on `-1125`, on `listenKeyExpired`
  or on a close. It applies `ACCOUNT_UPDATE` deltas, records fills (a liquidation is the venue's
  `autoclose-` order, so a vanished position is reported as liquidated, not closed), and surfaces
  `MARGIN_CALL` as a record, a warning log line and `perpmon_collector_events_total{event=
  "margin_call"}`. Connections rotate make-before-break before the venue's 24 h cut.

A REST failure while the stream is synced is logged and counted but does not mark the account
down: the deltas keep the picture exact, and its age limit still catches a long outage.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from typing import Any

import structlog
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import InvalidStatus

from monitor.clock import NS_PER_S
from monitor.collectors.account_book import AccountUpdate
from monitor.collectors.account_watch import STEADY_S, AccountWatcher
from monitor.collectors.binance.account_wire import (
    parse_account_balances,
    parse_leverage_brackets,
    parse_position_risk,
)
from monitor.collectors.binance.events import ListenKeyExpired, parse_user_event
from monitor.collectors.pacing import retry_after_s
from monitor.collectors.wsfeed import NETWORK_ERRORS
from monitor.errors import FeedError, ParseError
from monitor.records import AccountSnapshot, Fill, MarginCall

__all__ = ["BinanceAccount"]

log = structlog.get_logger(__name__)
_DEDUP = 256  # frames remembered to drop the duplicates of a make-before-break overlap


class _SessionEnd(Exception):
    """The listenKey is gone (expired, or the venue no longer knows it): create a new one."""


class BinanceAccount(AccountWatcher):
    # the listenKey calls and the user socket: USDⓈ-M's; COIN-M (`binance_coinm.account`) swaps them
    _listen_key_post = "fapiPrivatePostListenKey"
    _listen_key_put = "fapiPrivatePutListenKey"

    def _user_url(self, key: str) -> str:
        return f"{self._ws_base}/private/ws?listenKey={key}"

    def __init__(self, *, futures_ws: str, keepalive_s: float, **common: Any) -> None:
        super().__init__(**common)
        self._ws_base = futures_ws.rstrip("/")
        self._keepalive_s = keepalive_s
        self._seen: deque[int] = deque(maxlen=_DEDUP)

    # ---------------------------------------------------------------- REST (the shared reconciler)
    async def _reference(self, ex: Any) -> None:
        raw = await self._rest.call(ex, ex.fapiPrivateGetLeverageBracket)
        self._put_tiers(parse_leverage_brackets(raw, self.name, self.venue, self._clock.now_ns()))

    async def _rest_snapshot(self, ex: Any) -> AccountSnapshot:
        risk, acct = await asyncio.gather(
            self._rest.call(ex, ex.fapiPrivateV3GetPositionRisk),
            self._rest.call(ex, ex.fapiPrivateV3GetAccount),
        )
        return self._snapshot(parse_position_risk(risk), parse_account_balances(acct))

    # ---------------------------------------------------------------- user data stream
    async def user_loop(self) -> None:
        ex = self._client()
        delays = self._backoff()
        try:
            while True:
                key = ""
                try:
                    reply = await self._rest.call(ex, getattr(ex, self._listen_key_post))
                    key = str(reply["listenKey"])
                    if await self._session(ex, key):
                        delays = self._backoff()
                except (FeedError, *NETWORK_ERRORS) as exc:
                    text = self._rest.redact(f"{type(exc).__name__}: {exc}").replace(
                        key or "\0", "<redacted>"
                    )
                    log.warning("user data stream failed", account=self.name, error=text[:300])
                except (KeyError, TypeError):
                    log.warning("listenKey reply without a key", account=self.name)
                self.book.stream_lost()
                await self._reconnect_after(next(delays))
        finally:
            self._stats.connected[self.socket] = False
            await ex.close()

    async def _session(self, ex: Any, key: str) -> bool:
        """One listenKey's life; True when it lasted long enough to reset the backoff."""
        url = self._user_url(key)
        ws = await self._open(url)
        opened = self._clock.monotonic_ns()
        self.book.stream_connected()
        self.wake()  # the reconciler snapshots now; deltas wait for it
        self._stats.connected[self.socket] = True
        keepalive = asyncio.ensure_future(self._keepalive(ex))
        readers = {asyncio.ensure_future(self._read(ws)): ws}
        rotate_at = self._clock.monotonic_ns() + int(self._policy.max_age_s * NS_PER_S)
        try:
            while True:
                left = max(0.0, (rotate_at - self._clock.monotonic_ns()) / NS_PER_S)
                done, _ = await asyncio.wait(
                    {keepalive, *readers}, timeout=left, return_when=asyncio.FIRST_COMPLETED
                )
                if not done:  # make-before-break rotation: the same key on a second connection
                    rotate_at = self._clock.monotonic_ns() + int(self._policy.max_age_s * NS_PER_S)
                    try:
                        new = await self._open(url)
                    except NETWORK_ERRORS as exc:  # the old one still works: try again later
                        log.warning(
                            "user stream rotation failed", account=self.name, error=type(exc).__name__
                        )
                        rotate_at = self._clock.monotonic_ns() + int(STEADY_S * NS_PER_S)
                        continue
                    readers[asyncio.ensure_future(self._read(new))] = new
                    self._stats.events["rotation"] += 1
                    await self._clock.sleep(self._policy.overlap_s)
                    for t in [t for t, c in readers.items() if c is not new]:
                        with contextlib.suppress(*NETWORK_ERRORS):
                            await readers.pop(t).close()
                        t.cancel()
                    continue
                for t in done:
                    if t is keepalive or t.exception() is not None or len(readers) == 1:
                        t.result()  # re-raise a failure
                        break  # a clean close: start over
                    readers.pop(t)
                else:
                    continue
                break
        except _SessionEnd:
            pass
        finally:
            keepalive.cancel()
            for t, c in readers.items():
                t.cancel()
                with contextlib.suppress(*NETWORK_ERRORS):
                    await c.close()
        return self._lasted(opened)

    async def _open(self, url: str) -> ClientConnection:
        try:
            return await self._open_socket(url)
        except InvalidStatus as exc:  # a handshake refused for rate holds the whole venue
            status = exc.response.status_code
            if status in (418, 429):
                self._rest.cooldown.hold(retry_after_s(dict(exc.response.headers), status), status)
                self._stats.events["rate_limited"] += 1
            raise

    async def _keepalive(self, ex: Any) -> None:
        while True:
            await self._clock.sleep(self._keepalive_s)
            try:
                await self._rest.call(ex, getattr(ex, self._listen_key_put))
                self._stats.events["listen_key_kept_alive"] += 1
            except FeedError as exc:
                if "-1125" in str(exc) or "listenKey does not exist" in str(exc):
                    raise _SessionEnd from None
                log.warning(
                    "listenKey keepalive failed", account=self.name, error=self._rest.redact(str(exc))
                )

    async def _read(self, ws: ClientConnection) -> None:
        async for raw in ws:
            if self._handle(raw):
                raise _SessionEnd

    def _handle(self, raw: bytes | str) -> bool:
        """Apply one frame; True when the key has expired."""
        now = self._clock.now_ns()
        try:
            ev = parse_user_event(raw, self.venue, self.name, now)
        except ParseError as exc:
            self._stats.drop(exc.reason)
            return False
        h = hash(raw)
        if h in self._seen:  # the same event on both sockets of a rotation
            self._stats.drop("repeated")
            return False
        self._seen.append(h)
        if isinstance(ev, ListenKeyExpired):
            self._stats.events["listen_key_expired"] += 1
            log.warning("listenKey expired; creating a new one", account=self.name)
            return True
        if isinstance(ev, AccountUpdate):
            self.apply(ev, now)
        elif isinstance(ev, Fill):
            self._sink.put(ev)
            if ev.kind != "trade":
                self._stats.events[ev.kind] += 1
                log.warning(
                    "position force-closed by the venue",
                    account=self.name,
                    kind=ev.kind,
                    symbol=ev.symbol,
                    side=ev.side,
                    qty=ev.qty,
                    price=ev.price,
                )
        elif isinstance(ev, MarginCall):
            self._sink.put(ev)
            self._stats.events["margin_call"] += 1
            log.warning(
                "MARGIN CALL from the venue",
                account=self.name,
                legs=[f"{p.symbol} {p.side} mark {p.mark_price} mm {p.maint_margin}" for p in ev.positions],
            )
        return False
