"""What every venue's account watcher shares: the REST reconciler, the account book, status records.

A venue's private stream is delta-only, so the picture after any (re)connect starts from REST; the
reconciler takes a snapshot every `poll_s` while no stream is synced, every `reconcile_s` once one
is, and at once when the stream (re)connects (`wake`). A venue subclass says how to read its
reference data (tiers) and its snapshot (positions + balances) over REST, and feeds its stream's
deltas to `apply`. A REST failure while the stream is synced is logged and counted but does not
mark the account down: the deltas keep the picture exact, and its age limit still catches a long
outage.

Every symbol the account is seen holding is told to the collector (`HeldSymbols`), which watches its
market. A symbol held without tiers (a new listing, or one the venue entry does not list) has its
tiers fetched right after the snapshot that showed it, not at the next refresh: until then its
maintenance margin, and with it the account's, cannot be computed. One fetch per symbol first
seen; a venue that has no tiers for it waits for the regular refresh rather than being asked in
a loop.

The parts of a private socket's life that every venue lives alike are here too: opening it behind
the venue's cooldown and connect pacer, reading it until its age limit, closing it, and whether it
lasted long enough to reset the backoff. Each venue keeps only what differs (auth, subscribe,
ping, frames), so Bybit and Hyperliquid no longer carry copies of Binance's.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Collection, Iterator
from typing import Any

import structlog
from websockets.asyncio.client import ClientConnection

from monitor.backoff import backoff
from monitor.clock import NS_PER_S, Clock
from monitor.collectors.account_book import AccountBook, AccountUpdate
from monitor.collectors.base import CollectorStats, RecordSink
from monitor.collectors.ccxt_rest import RestCaller
from monitor.collectors.held import HeldSymbols
from monitor.collectors.pacing import Pacer
from monitor.collectors.tier_reply import TierReply
from monitor.collectors.wsfeed import NETWORK_ERRORS, WsPolicy, open_socket
from monitor.errors import FeedError, ParseError
from monitor.records import AccountSnapshot, FeedState, FeedStatus, LeverageTiers, Record

__all__ = ["REFERENCE_REFRESH_S", "STEADY_S", "AccountWatcher"]

log = structlog.get_logger(__name__)
REFERENCE_REFRESH_S = 600.0  # tiers, funding intervals, listings: rare changes, but they do change
STEADY_S = 10.0  # a private-stream session this long resets the reconnect backoff


class _TierNotingSink:
    """The watcher's sink: passes every record on, and notes the symbols it has put tiers for."""

    def __init__(self, sink: RecordSink, tiered: set[str]) -> None:
        self._sink, self._tiered = sink, tiered

    def put(self, record: Record) -> None:
        if isinstance(record, LeverageTiers):
            self._tiered.add(record.symbol)
        self._sink.put(record)


class AccountWatcher:
    """One account on one venue; subclasses implement `_reference`, `_rest_snapshot`, `user_loop`."""

    def __init__(
        self,
        *,
        venue: str,
        name: str,
        client: Callable[[], Any],
        rest: RestCaller,
        sink: RecordSink,
        clock: Clock,
        stats: CollectorStats,
        poll_s: float,
        reconcile_s: float,
        user_stream: bool,
        connect_pacer: Pacer,
        policy: WsPolicy,
        held: HeldSymbols | None = None,
    ) -> None:
        self.venue, self.name = venue, name
        self._client = client
        self._rest = rest
        self._tiered: set[str] = set()  # symbols whose tiers this watcher has put
        self._sink: RecordSink = _TierNotingSink(sink, self._tiered)
        self._held = held
        self.held_symbols: dict[str, None] = {}  # every symbol this account was seen holding, in order
        self._tiers_asked: set[str] = set()  # held symbols a tier fetch has run for
        self._clock = clock
        self._stats = stats
        self._poll_s, self._reconcile_s = poll_s, reconcile_s
        self._user_stream = user_stream
        self._pacer = connect_pacer
        self._policy = policy
        self.book = AccountBook(venue, name)
        self._wake = asyncio.Event()
        self.stream_name = f"account:{name}"
        self.socket = f"{venue}.user.{name}"

    # ---------------------------------------------------------------- a private socket's life
    async def _open_socket(self, url: str) -> ClientConnection:
        await self._rest.cooldown.wait()
        await self._pacer.wait()
        await self._rest.cooldown.wait()  # a 429 heard while this one waited its turn holds it too
        return await open_socket(url, self._policy)

    async def _read_for_max_age(self, ws: ClientConnection, handle: Callable[[bytes | str], object]) -> None:
        """Every frame to `handle` until the socket ends or has lived `max_age_s`, after which the
        caller replaces it (before the venue's own 24 h cut)."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self._policy.max_age_s):
                async for raw in ws:
                    handle(raw)

    async def _close_socket(self, ws: ClientConnection, pinger: asyncio.Future[None]) -> None:
        pinger.cancel()
        with contextlib.suppress(*NETWORK_ERRORS):
            await ws.close()

    def _backoff(self) -> Iterator[float]:
        """A fresh reconnect backoff under the policy (restarted after each steady session)."""
        return backoff(initial_s=self._policy.backoff_initial_s, max_s=self._policy.backoff_max_s)

    async def _reconnect_after(self, wait_s: float) -> None:
        """The socket is gone: say so, count the reconnect, wait `wait_s` before the next one."""
        self._stats.connected[self.socket] = False
        self._stats.reconnects[self.socket] += 1
        await self._clock.sleep(wait_s)

    def _lasted(self, opened_ns: int) -> bool:
        """Whether a session opened at `opened_ns` lasted long enough to reset the backoff."""
        return self._clock.monotonic_ns() - opened_ns >= STEADY_S * NS_PER_S

    # ---------------------------------------------------------------- for the venue to fill in
    async def _reference(self, ex: Any) -> None:
        """Read and put the account's reference data (tiers); called every REFERENCE_REFRESH_S."""

    async def _rest_snapshot(self, ex: Any) -> AccountSnapshot:
        raise NotImplementedError

    async def user_loop(self) -> None:
        raise NotImplementedError

    # ---------------------------------------------------------------- reconciler
    async def reconcile_loop(self) -> None:
        ex = self._client()
        next_reference = 0
        self._status(FeedState.DOWN, "connecting")
        try:
            while True:
                if self._clock.monotonic_ns() >= next_reference and await self._refresh_reference(ex):
                    next_reference = self._clock.monotonic_ns() + int(REFERENCE_REFRESH_S * NS_PER_S)
                try:
                    await self._reconcile(ex)
                    await self._tiers_for_new_symbols(ex)
                except ParseError as exc:
                    self._stats.drop(exc.reason)
                    log.warning(
                        "account snapshot dropped",
                        account=self.name,
                        reason=exc.reason,
                        detail=str(exc)[:200],
                    )
                except FeedError as exc:
                    if not self.book.synced:
                        self._status(FeedState.DOWN, type(exc).__name__)
                    self._stats.events["rest_failure"] += 1
                    log.warning(
                        "account snapshot failed", account=self.name, error=self._rest.redact(str(exc))
                    )
                synced = self._user_stream and self.book.synced
                await self._sleep_or_wake(self._reconcile_s if synced else self._poll_s)
        finally:
            await ex.close()

    async def _tiers_for_new_symbols(self, ex: Any) -> None:
        """Tiers for a symbol first seen held, at once; once per symbol, so a venue without them is not
        asked in a loop (a failed fetch is tried again next pass, like the snapshot)."""
        wanted = [s for s in self.held_symbols if s not in self._tiered and s not in self._tiers_asked]
        if not wanted:
            return
        try:
            await self._reference(ex)
        except FeedError as exc:  # the snapshot is already out: this is not the account going down
            self._stats.events["rest_failure"] += 1
            log.warning(
                "tiers for a newly held symbol failed", account=self.name, error=self._rest.redact(str(exc))
            )
            return
        except ParseError as exc:
            self._stats.drop(exc.reason)
            log.warning("tiers for a newly held symbol dropped", account=self.name, reason=exc.reason)
        self._tiers_asked.update(wanted)
        missing = [s for s in wanted if s not in self._tiered]
        if missing:
            log.warning("the venue gave no tiers for held symbols", account=self.name, symbols=missing)

    def _note_held(self, snap: AccountSnapshot) -> bool:
        """Tell the collector about symbols first seen held; True if there were any."""
        new = [p.symbol for p in snap.positions if p.symbol not in self.held_symbols]
        if new:
            self.held_symbols.update(dict.fromkeys(new))
            if self._held is not None:
                self._held.note(new)
        return bool(new)

    async def _refresh_reference(self, ex: Any) -> bool:
        """Read the tiers; False when they could not be read (tried again next round).

        Tiers are reference data: a reply that cannot be read is logged and counted, and never
        holds back the account snapshot that follows (it used to, for as long as the reply stayed bad).
        """
        try:
            await self._reference(ex)
        except ParseError as exc:
            self._stats.drop(exc.reason)
            log.warning("leverage tiers dropped", account=self.name, reason=exc.reason, detail=str(exc)[:200])
            return False
        except FeedError as exc:
            self._stats.events["rest_failure"] += 1
            log.warning("leverage tiers failed", account=self.name, error=self._rest.redact(str(exc)))
            return False
        return True

    def _put_tiers(self, reply: TierReply, symbols: Collection[str] | None = None) -> None:
        """Store the tiers read (of `symbols` only, when given); count and log each symbol rejected."""
        for tiers in reply.tiers:
            if symbols is None or tiers.symbol in symbols:
                self._sink.put(tiers)
        for symbol, exc in reply.rejected:
            self._reject_tiers(symbol, exc)

    def _reject_tiers(self, symbol: str, exc: ParseError) -> None:
        self._stats.drop(exc.reason)
        log.warning(
            "leverage tiers of one symbol dropped",
            account=self.name,
            symbol=symbol,
            reason=exc.reason,
            detail=str(exc)[:200],
        )

    async def _reconcile(self, ex: Any) -> None:
        epoch = self.book.epoch
        requested_ms = self._clock.now_ns() // 1_000_000
        rest = await self._rest_snapshot(ex)
        merged, drift = self.book.reset(rest, requested_ms, epoch)
        if drift:
            self._stats.events["reconcile_drift"] += 1
            log.warning("reconciliation corrected the streamed account state", account=self.name)
        self._note_held(merged)
        self._sink.put(merged)
        self._stats.messages[self.stream_name] += 1

    def wake(self) -> None:
        """A stream (re)connected: snapshot now, since deltas wait for a snapshot requested after it."""
        self._wake.set()

    async def _sleep_or_wake(self, seconds: float) -> None:
        if self._wake.is_set():
            self._wake.clear()
            return
        sleeper = asyncio.ensure_future(self._clock.sleep(seconds))
        waker = asyncio.ensure_future(self._wake.wait())
        try:
            await asyncio.wait({sleeper, waker}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for t in (sleeper, waker):
                t.cancel()
            self._wake.clear()

    # ---------------------------------------------------------------- stream side
    def apply(self, update: AccountUpdate, now_ns: int) -> None:
        """Merge one delta; the complete state goes to the sink once the book is synced."""
        snap = self.book.apply(update, now_ns)
        if snap is not None:
            if self._note_held(snap):
                self.wake()  # a leg first seen on the stream: the reconciler fetches its tiers now
            self._sink.put(snap)
            self._stats.messages[self.socket] += 1

    def _snapshot(self, positions: Any, balances: Any) -> AccountSnapshot:
        now = self._clock.now_ns()
        return AccountSnapshot(
            venue=self.venue,
            account=self.name,
            ts_event_ns=now,
            ts_recv_ns=now,
            positions=positions,
            balances=balances,
        )

    def _status(self, state: FeedState, reason: str) -> None:
        now = self._clock.now_ns()
        self._sink.put(
            FeedStatus(
                venue=self.venue,
                ts_event_ns=now,
                ts_recv_ns=now,
                stream=self.stream_name,
                state=state,
                reason=reason,
            )
        )
