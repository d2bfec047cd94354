"""The user data stream: listenKeys (create, keep alive, close, expire) and where events go.

One key per account, as at the venue: POST while a key is live returns the same key and extends
it; PUT extends it or fails with -1125 once it is gone; a key lives `ttl_s` (60 min) from its last
extension by the injected clock. On expiry the key's connections get `listenKeyExpired` and are
closed after it. Engine events for an account without a live key are dropped, as the venue would.
"""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass
from typing import Any

from monitor.clock import Clock
from monitor.sim.binance.events import listen_key_expired
from monitor.sim.binance.ws import StreamHub
from monitor.sim.replies import VenueError

__all__ = ["ListenKeys"]

_ALPHABET = string.ascii_letters + string.digits


@dataclass(slots=True)
class _Key:
    key: str
    account: str
    expires_ms: int


class ListenKeys:
    def __init__(self, clock: Clock, ttl_s: float, hub: StreamHub) -> None:
        self._clock = clock
        self._ttl_ms = int(ttl_s * 1000)
        self._hub = hub
        self._by_account: dict[str, _Key] = {}

    def _now_ms(self) -> int:
        return self._clock.now_ns() // 1_000_000

    def _live(self, account: str) -> _Key | None:
        k = self._by_account.get(account)
        return k if k is not None and k.expires_ms > self._now_ms() else None

    def create(self, account: str) -> str:
        k = self._live(account)
        if k is None:
            k = _Key("".join(secrets.choice(_ALPHABET) for _ in range(64)), account, 0)
            self._by_account[account] = k
        k.expires_ms = self._now_ms() + self._ttl_ms
        return k.key

    def keepalive(self, account: str) -> str:
        k = self._live(account)
        if k is None:
            raise VenueError(400, -1125, "This listenKey does not exist.")
        k.expires_ms = self._now_ms() + self._ttl_ms
        return k.key

    def close(self, account: str) -> None:
        k = self._by_account.pop(account, None)
        if k is not None:
            self._hub.push_user(k.key, listen_key_expired(self._now_ms(), k.key), then_close=True)

    def is_live(self, key: str) -> bool:
        now = self._now_ms()
        return any(k.key == key and k.expires_ms > now for k in self._by_account.values())

    def expire_now(self, account: str | None = None) -> None:
        for k in self._by_account.values():
            if account is None or k.account == account:
                k.expires_ms = self._now_ms()
        self.expire_due()

    def expire_due(self) -> None:
        """Tell the connections of every key past its time, close them, forget the key."""
        now = self._now_ms()
        for account, k in list(self._by_account.items()):
            if k.expires_ms <= now:
                del self._by_account[account]
                self._hub.push_user(k.key, listen_key_expired(now, k.key), then_close=True)

    def deliver(self, account: str, payload: dict[str, Any]) -> None:
        """Engine sink: route an account's event to its live key's connections."""
        k = self._live(account)
        if k is not None:
            self._hub.push_user(k.key, payload)
