"""Failure injection for tests: the ways a real venue connection goes wrong, on demand.

Each switch is consumed by the part of the simulator it affects (the REST middleware, the stream
hub, the listenKey registry), so a test states the fault and then observes the client's reaction.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from monitor.sim.replies import VenueError

__all__ = ["Corruption", "Faults"]

# how the next broadcasts' price fields go wrong (monitor.sim.corrupt)
Corruption = Literal["nan", "negative", "zero", "wrong_type"]


class Faults:
    def __init__(self) -> None:
        self.stalled = False  # market frames stop; pings and control replies continue
        self._malformed = 0
        self._repeat = 0
        self._rest_5xx = 0
        self._rest_5xx_status = 503
        self._rate_429 = 0
        self._rate_418 = 0
        self._retry_after_s = 0
        self._window_ns: tuple[int, int] | None = None  # (status, until): a 429's Retry-After or a 418's ban
        self.bans = 0  # 418s served: each one a client that came back inside a Retry-After
        self._corrupt: list[Corruption] = []
        self.delay_s = 0.0  # market and user frames are held this long (injected clock) before sending
        self._on_disconnect: list[Callable[[], None]] = []
        self._on_expire: list[Callable[[str | None], None]] = []
        self._on_refuse: list[Callable[[float], None]] = []

    # wiring (done by the server)
    def on_disconnect(self, cb: Callable[[], None]) -> None:
        self._on_disconnect.append(cb)

    def on_expire(self, cb: Callable[[str | None], None]) -> None:
        self._on_expire.append(cb)

    def on_refuse(self, cb: Callable[[float], None]) -> None:
        self._on_refuse.append(cb)

    # --- switches tests use ---------------------------------------------------------------
    def disconnect_all(self) -> None:
        """Close every WebSocket connection now (code 1001, as at a venue restart)."""
        for cb in self._on_disconnect:
            cb()

    def stall(self, on: bool = True) -> None:
        """Stop (or restart) market frames while the connection stays up and keeps answering pings."""
        self.stalled = on

    def send_malformed(self, frames: int = 1) -> None:
        """The next `frames` broadcasts each send every connection one truncated JSON text frame."""
        self._malformed += frames

    def repeat_frames(self, broadcasts: int = 1) -> None:
        """The next `broadcasts` send every market frame twice."""
        self._repeat += broadcasts

    def corrupt_prices(self, kind: Corruption, broadcasts: int = 1) -> None:
        """The next `broadcasts` carry bad prices: "NaN", negative, zero, or JSON numbers (wrong type)."""
        self._corrupt += [kind] * broadcasts

    def delay_frames(self, seconds: float) -> None:
        """Hold every frame `seconds` (by the simulator's clock) before it goes out; 0 ends the delay."""
        self.delay_s = max(0.0, seconds)

    def refuse_connections(self, seconds: float) -> None:
        """Close the listening sockets for `seconds` (simulator clock): new TCP connects are refused."""
        for cb in self._on_refuse:
            cb(seconds)

    def fail_rest(self, calls: int, status: int = 503) -> None:
        """The next `calls` REST requests answer with this 5xx status and a gateway's plain-text page."""
        self._rest_5xx = calls
        self._rest_5xx_status = status

    def rate_limit(self, calls_429: int = 1, calls_418: int = 1, retry_after_s: int = 2) -> None:
        """The next requests get 429 (-1003), each with Retry-After; a client that comes back before
        the Retry-After has passed then gets 418 (IP ban), as the venue bans only clients that ignore
        its 429s. One that waits is served: its armed 418s are dropped. A 418 scripted without a 429
        before it is served as scripted. While a 429's Retry-After or a ban runs, WebSocket
        handshakes are refused with the same status (`handshake_refusal`)."""
        self._rate_429 = calls_429
        self._rate_418 = calls_418
        self._retry_after_s = retry_after_s

    def expire_listen_key(self, account: str | None = None) -> None:
        """Expire the listenKey of `account` (all accounts when None) now."""
        for cb in self._on_expire:
            cb(account)

    # --- consumed by the simulator ----------------------------------------------------------
    def take_malformed(self) -> bool:
        if self._malformed > 0:
            self._malformed -= 1
            return True
        return False

    def take_corruption(self) -> Corruption | None:
        return self._corrupt.pop(0) if self._corrupt else None

    def take_repeat(self) -> bool:
        if self._repeat > 0:
            self._repeat -= 1
            return True
        return False

    @property
    def retry_after_s(self) -> int:
        """The Retry-After the armed rate-limit switch answers with."""
        return self._retry_after_s

    def handshake_refusal(self, now_ns: int) -> int | None:
        """The status a WebSocket handshake gets now: 429 inside a Retry-After, 418 inside a ban."""
        if self._window_ns is not None and now_ns < self._window_ns[1]:
            return self._window_ns[0]
        return None

    def take_rest_fault(self, now_ns: int = 0) -> VenueError | None:
        retry = {"Retry-After": str(self._retry_after_s)}
        until = now_ns + self._retry_after_s * 1_000_000_000
        if self._rate_429 > 0:
            self._rate_429 -= 1
            self._window_ns = (429, until)
            msg = (
                "Too many requests; current limit is 2400 requests per minute. Please use the websocket"
                " for live updates to avoid polling the API."
            )
            return VenueError(429, -1003, msg, retry)
        if self._rate_418 > 0:
            if self._window_ns is not None and now_ns >= self._window_ns[1]:
                self._rate_418 = 0  # it waited the Retry-After out: no ban earned
            else:
                self._rate_418 -= 1
                self.bans += 1
                self._window_ns = (418, until)
                return VenueError(418, -1003, "Way too many requests; IP banned until further notice.", retry)
        if self._rest_5xx > 0:
            self._rest_5xx -= 1
            return VenueError(self._rest_5xx_status, 0, "Service Unavailable", plain=True)
        return None
