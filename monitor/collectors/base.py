"""What every collector shares: the sink it writes to, its counters, and its shape.

A collector parses each frame once, at the edge; a frame that cannot become a record raises
`ParseError`, is counted by reason and dropped, and never causes a reconnect (treating parse bugs
as network errors is how reconnect storms start). Silence is different: a stream whose event id
stops advancing for longer than its limit is reported stale and its connection replaced
(`wsfeed.WsFeed`).
"""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

import structlog

from monitor.clock import Clock
from monitor.collectors.keys import KeyPermissions, KeyRefusedError, judge_key
from monitor.config import Config, Secrets
from monitor.errors import FeedError
from monitor.records import FeedState, FeedStatus, Record
from monitor.secret import Secret

__all__ = [
    "AccountAccess",
    "Collector",
    "CollectorStats",
    "KeyGate",
    "RecordSink",
    "TaskFactory",
    "account_access",
]

log = structlog.get_logger(__name__)

TaskFactory = Callable[[], Awaitable[None]]
KEY_CHECK_ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class AccountAccess:
    """What a collector needs to watch one account; `path` names it in the config for errors."""

    name: str
    key: Secret
    secret: Secret
    path: str
    allow_trading_key: bool = False
    password: Secret | None = None


def account_access(cfg: Config, secrets: Secrets, venue: str) -> dict[str, AccountAccess]:
    out = {}
    for i, a in enumerate(cfg.accounts):
        if a.venue == venue:
            key, secret = secrets.api_keys.get(a.name, (Secret(""), Secret("")))  # none: read by address
            out[a.name] = AccountAccess(
                a.name, key, secret, f"accounts[{i}]", a.allow_trading_key, secrets.api_passwords.get(a.name)
            )
    return out


class RecordSink(Protocol):
    def put(self, record: Record) -> None: ...


class CollectorStats:
    """Counters read by the metrics exporter at scrape time."""

    def __init__(self, venue: str) -> None:
        self.venue = venue
        self.messages: Counter[str] = Counter()  # by socket
        self.dropped: Counter[str] = Counter()  # by reason
        self.reconnects: Counter[str] = Counter()  # by socket name
        self.connected: dict[str, bool] = {}  # by socket name
        # notable events by kind: rotation, stale_reconnect, rate_limited, margin_call, liquidation,
        # adl, listen_key_expired, listen_key_kept_alive, reconcile_drift, rest_failure
        self.events: Counter[str] = Counter()

    def drop(self, reason: str) -> None:
        self.dropped[reason] += 1


class Collector(Protocol):
    """One venue's collector: named task factories for the supervisor, and a start-up key check."""

    venue: str
    stats: CollectorStats

    def tasks(self) -> dict[str, TaskFactory]: ...

    async def check_keys(self) -> None:
        """Refuse keys that can trade, transfer or withdraw (unless the config allows trading)."""
        ...


PermissionReader = Callable[[str], Awaitable[KeyPermissions]]


class KeyGate:
    """Each account's key is judged once (`keys.judge_key`) before any of its tasks reads with it.

    The start-up check tries a few times and lets start-up fail on a refused key; an account task
    started later waits here until the venue answers, and a refused key stops only that account
    (a DOWN status with the reason, so the desk sees it is not watched).
    """

    def __init__(
        self,
        *,
        venue: str,
        accounts: dict[str, AccountAccess],
        read: PermissionReader,
        redact: Callable[[str], str],
        sink: RecordSink,
        clock: Clock,
    ) -> None:
        self._venue, self._accounts, self._read = venue, accounts, read
        self._redact, self._sink, self._clock = redact, sink, clock
        self._accepted: set[str] = set()
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    async def check_all(self) -> None:
        """Every account's key at once: a venue that cannot answer for one key delays start-up by
        KEY_CHECK_ATTEMPTS tries of that key, not by the sum over the accounts."""
        await asyncio.gather(*(self.verdict(name, attempts=KEY_CHECK_ATTEMPTS) for name in self._accounts))

    async def verdict(self, name: str, attempts: int | None = None) -> bool:
        """True once the key is accepted; raises KeyRefusedError; False if it could not be read.

        The lock is held for one read, never across the wait between tries: an account task
        retrying an unreadable key without end (a key the venue rejects, an IP not whitelisted)
        would otherwise hold it for good, and the start-up check waiting on it would never return
        — a daemon that watches nothing and ignores SIGTERM because one key is bad.
        """
        tries = 0
        while attempts is None or tries < attempts:
            tries += 1
            async with self._locks[name]:  # the start-up check and the account's tasks read once
                if name in self._accepted:
                    return True
                try:
                    perms = await self._read(name)
                except FeedError as exc:
                    error = exc
                else:
                    for warning in judge_key(
                        name, self._accounts[name].path, perms, self._accounts[name].allow_trading_key
                    ):
                        log.warning(warning)
                    self._accepted.add(name)
                    return True
            log.warning("key permissions unreadable", account=name, error=self._redact(str(error)))
            self._down(name, f"API key not readable by the venue ({type(error).__name__}); retrying")
            await self._clock.sleep(min(30.0, 2.0 ** min(tries, 5)))  # capped before 2.0**1024 overflows
        return False

    def _down(self, name: str, reason: str) -> None:
        """The account's feed DOWN with `reason`: an account not watched is an alert, not a silence."""
        now = self._clock.now_ns()
        self._sink.put(
            FeedStatus(
                venue=self._venue,
                ts_event_ns=now,
                ts_recv_ns=now,
                stream=f"account:{name}",
                state=FeedState.DOWN,
                reason=reason,
            )
        )

    async def guarded(self, name: str, job: Callable[[], Awaitable[None]]) -> None:
        """Run an account task only with an accepted key; a refused key stops it for good."""
        try:
            await self.verdict(name)
        except KeyRefusedError as exc:
            log.error("API key refused; this account is not watched", account=name, reason=exc.reason)
            self._down(name, "API key refused: it can do more than read")
            return
        await job()
