"""The venues' rate limits as they enforce them, so a collector's backoff meets the real rules.

Binance (futures General Info, spot `rest-api/limits`): every REST route costs a request weight
(some by their `limit` or by whether a symbol is given), summed per IP per host over fixed
one-minute windows; `X-MBX-USED-WEIGHT-1M` on every answer says the sum. A request that would pass
the limit gets 429 (-1003) with `Retry-After` = the seconds left in the minute. A client that comes
back inside that Retry-After (later than `inflight_grace_s` of wall time after it: sooner, the
call was already on its way), by REST or by a WebSocket handshake, gets 418 (IP ban) for
`ban_s`, doubling with each repeat up to 3 days; during a ban every request and handshake gets 418
with the seconds left. WebSocket connection attempts are limited to 300 per 5 minutes per IP (a
refusal is a 429 with Retry-After, and coming back inside it bans likewise), and incoming messages
to 10/s (futures) or 5/s (spot) per connection: the venue closes a connection past that (1008).
Settled funding (`/fapi/v1/fundingRate`) and the adjusted caps (`/fapi/v1/fundingInfo`) cost no
weight but share their own 500 calls per 5 minutes per IP: a call past it is a 429 whose
Retry-After frees the oldest slot, escalating like any other (the venue counts the IP).

Bybit (v5 `rate-limit`): 600 HTTP requests per 5 s per IP, past which the IP gets
`403 access too frequent` for 10 minutes; signed endpoints also have a per-UID per-second limit
each, reported in `X-Bapi-Limit`, `X-Bapi-Limit-Status` (remaining) and
`X-Bapi-Limit-Reset-Timestamp` (ms: when the window frees a slot once exceeded, else now), and
answered `retCode 10006 "Too many visits!"` with HTTP 200 when exceeded. WebSocket: at most 500
connection attempts per 5 minutes per IP on a domain; past it the handshake is refused with the
IP limit's `403 access too frequent` (the status is not documented; 403 is the venue's IP answer).

"IP" is the peer address, so clients on one loopback share a budget as processes on one host do.
"""

from __future__ import annotations

import collections
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from monitor.sim.replies import VenueError

__all__ = [
    "BYBIT_API_PER_S",
    "FUNDING_ROUTES",
    "BybitApiLimit",
    "BybitIpLimit",
    "Host",
    "MessageRate",
    "WeightLimit",
    "WindowCount",
    "binance_weight",
]

Host = Literal["futures", "spot"]
NS = 1_000_000_000
MINUTE_NS = 60 * NS
MAX_BAN_S = 3 * 86_400.0  # "from 2 minutes to 3 days" for repeat offenders
_TOO_MANY = "Too many requests; please wait the Retry-After out."

# routes whose weight does not depend on their parameters; absent: 1
_FUTURES_FLAT = {
    "/fapi/v1/fundingInfo": 0,  # both: FUNDING_ROUTES' own 500 / 5 min IP limit instead
    "/fapi/v1/fundingRate": 0,
    "/fapi/v2/positionRisk": 5,
    "/fapi/v3/positionRisk": 5,
    "/fapi/v2/account": 5,
    "/fapi/v3/account": 5,
    "/fapi/v2/balance": 5,
    "/fapi/v3/balance": 5,
    "/fapi/v1/positionSide/dual": 30,
    "/fapi/v1/symbolConfig": 5,
    "/futures/data/openInterestHist": 0,  # its own 1000 / 5 min IP limit instead
}
# (weight with a symbol, weight without): the all-symbols forms cost more
_FUTURES_BY_SYMBOL = {
    "/fapi/v1/premiumIndex": (1, 10),
    "/fapi/v1/ticker/24hr": (1, 40),
    "/fapi/v1/ticker/bookTicker": (2, 5),
    "/fapi/v1/leverageBracket": (1, 1),
}
FUNDING_ROUTES = frozenset({"/fapi/v1/fundingRate", "/fapi/v1/fundingInfo"})
_SPOT_FLAT = {
    "/api/v3/exchangeInfo": 20,
    "/api/v3/klines": 2,
    "/api/v3/avgPrice": 2,
    "/api/v3/account": 20,
}
_SPOT_BY_SYMBOL = {"/api/v3/ticker/24hr": (2, 80), "/api/v3/ticker/bookTicker": (2, 4)}
_FUTURES_KLINES = (
    "/fapi/v1/klines",
    "/fapi/v1/markPriceKlines",
    "/fapi/v1/indexPriceKlines",
    "/fapi/v1/premiumIndexKlines",
    "/fapi/v1/continuousKlines",
)


def _limit(query: Mapping[str, str], default: int) -> int:
    raw = query.get("limit", "")
    return int(raw) if raw.isdigit() else default


def binance_weight(host: Host, path: str, query: Mapping[str, str]) -> int:
    """The request weight Binance charges for this call (its docs' table for the route)."""
    if host == "futures":
        if path == "/fapi/v1/depth":
            n = _limit(query, 500)
            return 2 if n <= 50 else 5 if n <= 100 else 10 if n <= 500 else 20
        if path in _FUTURES_KLINES:
            n = _limit(query, 500)
            return 1 if n < 100 else 2 if n < 500 else 5 if n <= 1000 else 10
        if path in _FUTURES_BY_SYMBOL:
            one, every = _FUTURES_BY_SYMBOL[path]
            return one if query.get("symbol") else every
        return _FUTURES_FLAT.get(path, 1)
    if path == "/api/v3/depth":
        n = _limit(query, 100)
        return 5 if n <= 100 else 25 if n <= 500 else 50 if n <= 1000 else 250
    if path in _SPOT_BY_SYMBOL:
        one, every = _SPOT_BY_SYMBOL[path]
        return one if query.get("symbol") or query.get("symbols") else every
    return _SPOT_FLAT.get(path, 1)


@dataclass
class _Client:
    minute: int = -1
    used: int = 0
    retry_until_ns: int = 0  # the last 429's Retry-After runs out here
    refused_wall_ns: int = 0  # when (wall time) the last 429 went out
    banned_until_ns: int = 0
    bans: int = 0
    connects: collections.deque[int] = field(default_factory=collections.deque)
    funding: collections.deque[int] = field(default_factory=collections.deque)


class WindowCount:
    """Events per key over a rolling window: (allowed?, ns until the oldest leaves the window)."""

    def __init__(self, limit: int, window_s: float) -> None:
        self.limit = limit
        self.window_ns = int(window_s * NS)
        self._seen: dict[str, collections.deque[int]] = {}
        self.refused = 0

    def admit(self, key: str, now_ns: int, seen: collections.deque[int] | None = None) -> tuple[bool, int]:
        window = self._seen.setdefault(key, collections.deque()) if seen is None else seen
        while window and window[0] <= now_ns - self.window_ns:
            window.popleft()
        if len(window) >= self.limit:
            self.refused += 1
            return False, window[0] + self.window_ns - now_ns
        window.append(now_ns)
        return True, 0


class WeightLimit:
    """One Binance host's limits per client IP: request weight per minute, handshakes per 5 min,
    and the 429 → 418 escalation shared by both (the venue counts an IP, not a socket)."""

    def __init__(
        self,
        host: Host,
        per_min: int,
        ban_s: float,
        connects_per_5min: int,
        connects_window_s: float = 300.0,
        inflight_grace_s: float = 0.0,
        wall_ns: Callable[[], int] = time.monotonic_ns,
        funding_per_5min: int = 500,
    ) -> None:
        self.host = host
        self.funding = WindowCount(funding_per_5min, 300.0)  # FUNDING_ROUTES, futures only
        self._grace_ns = int(inflight_grace_s * NS)
        self._wall_ns = wall_ns
        self.per_min = per_min
        self.ban_s = ban_s
        self.connects_per_5min = connects_per_5min
        self._window_ns = int(connects_window_s * NS)
        self._clients: dict[str, _Client] = {}
        self.served_429 = 0
        self.served_418 = 0

    def _client(self, ip: str) -> _Client:
        c = self._clients.get(ip)
        if c is None:
            c = self._clients[ip] = _Client()
        return c

    def bans(self, ip: str | None = None) -> int:
        """418s earned (by `ip`, or by every client)."""
        if ip is not None:
            return self._client(ip).bans
        return sum(c.bans for c in self._clients.values())

    def used(self, ip: str, now_ns: int) -> int:
        c = self._client(ip)
        return c.used if c.minute == now_ns // MINUTE_NS else 0

    def _refusal(self, c: _Client, now_ns: int) -> VenueError | None:
        """A ban still running, or a new one for a client back inside a 429's Retry-After."""
        if now_ns < c.banned_until_ns:
            self.served_418 += 1
            return _banned(c.banned_until_ns - now_ns)
        if now_ns < c.retry_until_ns:
            if self._wall_ns() - c.refused_wall_ns < self._grace_ns:  # sent before it saw the 429
                self.served_429 += 1
                return VenueError(429, -1003, _TOO_MANY, _retry_after(c.retry_until_ns - now_ns))
            c.bans += 1
            ban_ns = int(min(self.ban_s * 2 ** (c.bans - 1), MAX_BAN_S) * NS)
            c.banned_until_ns = now_ns + ban_ns
            c.retry_until_ns = 0
            self.served_418 += 1
            return _banned(ban_ns)
        return None

    def _too_many(self, c: _Client, now_ns: int, until_ns: int, msg: str = _TOO_MANY) -> VenueError:
        """A 429 whose Retry-After runs to `until_ns`; coming back inside it earns the 418."""
        c.retry_until_ns = until_ns
        c.refused_wall_ns = self._wall_ns()
        self.served_429 += 1
        return VenueError(429, -1003, msg, _retry_after(until_ns - now_ns))

    def admit(self, ip: str, weight: int, now_ns: int, path: str = "") -> tuple[VenueError | None, int]:
        """(the refusal, or None; the weight used this minute after this call)."""
        c = self._client(ip)
        minute = now_ns // MINUTE_NS
        if c.minute != minute:
            c.minute, c.used = minute, 0
        refused = self._refusal(c, now_ns)
        if refused is not None:
            return refused, c.used
        if self.host == "futures" and path in FUNDING_ROUTES:
            ok, wait_ns = self.funding.admit(ip, now_ns, c.funding)
            if not ok:
                return self._too_many(c, now_ns, now_ns + wait_ns), c.used
        if c.used + weight > self.per_min:
            msg = (
                f"Too much request weight used; current limit is {self.per_min} request weight per 1"
                " MINUTE. Please use WebSocket Streams for live updates to avoid polling the API."
            )
            return self._too_many(c, now_ns, (minute + 1) * MINUTE_NS, msg), c.used
        c.used += weight
        return None, c.used

    def handshake(self, ip: str, now_ns: int) -> VenueError | None:
        """A WebSocket connection attempt: refused inside a ban or a Retry-After (which earns the
        ban), or past the 5-minute connection budget (a 429 whose Retry-After frees one slot)."""
        c = self._client(ip)
        refused = self._refusal(c, now_ns)
        if refused is not None:
            return refused
        window = c.connects
        while window and window[0] <= now_ns - self._window_ns:
            window.popleft()
        if len(window) >= self.connects_per_5min:
            return self._too_many(c, now_ns, window[0] + self._window_ns)
        window.append(now_ns)
        return None


def _retry_after(left_ns: int) -> dict[str, str]:
    return {"Retry-After": str(max(1, math.ceil(left_ns / NS)))}


def _banned(left_ns: int) -> VenueError:
    msg = "Way too many requests; IP banned until further notice."
    return VenueError(418, -1003, msg, _retry_after(left_ns))


class MessageRate:
    """Incoming messages of one connection over the last second (pings, pongs and JSON alike)."""

    def __init__(self, per_s: int) -> None:
        self.per_s = per_s
        self._seen: collections.deque[int] = collections.deque()

    def admit(self, now_ns: int) -> bool:
        seen = self._seen
        while seen and seen[0] <= now_ns - NS:
            seen.popleft()
        seen.append(now_ns)
        return len(seen) <= self.per_s


# signed endpoints' per-UID limits (requests per second), Bybit v5 "API Rate Limit" table
BYBIT_API_PER_S = {
    "/v5/position/list": 50,
    "/v5/account/wallet-balance": 50,
    "/v5/account/info": 50,
    "/v5/user/query-api": 10,
    "/v5/asset/coin/query-info": 5,
}


class BybitIpLimit:
    """600 requests per 5 s per IP; past it, `403 access too frequent` for `ban_s` (10 min)."""

    def __init__(self, per_5s: int, ban_s: float) -> None:
        self.per_5s = per_5s
        self.ban_ns = int(ban_s * NS)
        self._seen: dict[str, collections.deque[int]] = {}
        self._banned_until: dict[str, int] = {}
        self.bans = 0

    def admit(self, ip: str, now_ns: int) -> bool:
        if now_ns < self._banned_until.get(ip, 0):
            return False
        seen = self._seen.setdefault(ip, collections.deque())
        while seen and seen[0] <= now_ns - 5 * NS:
            seen.popleft()
        if len(seen) >= self.per_5s:
            self._banned_until[ip] = now_ns + self.ban_ns
            self.bans += 1
            seen.clear()
            return False
        seen.append(now_ns)
        return True


class BybitApiLimit:
    """Per UID and endpoint, requests in a rolling second; the three headers Bybit sends."""

    def __init__(self, override_per_s: int = 0) -> None:
        self.override_per_s = override_per_s
        self._seen: dict[tuple[str, str], collections.deque[int]] = {}
        self.refused = 0

    def limit_of(self, path: str) -> int | None:
        if path not in BYBIT_API_PER_S:
            return None
        return self.override_per_s or BYBIT_API_PER_S[path]

    def admit(self, uid: str, path: str, now_ns: int) -> tuple[bool, dict[str, str]] | None:
        """(allowed?, headers) for a signed endpoint with a limit; None for one without."""
        limit = self.limit_of(path)
        if limit is None:
            return None
        seen = self._seen.setdefault((uid, path), collections.deque())
        while seen and seen[0] <= now_ns - NS:
            seen.popleft()
        allowed = len(seen) < limit
        if allowed:
            seen.append(now_ns)
        else:
            self.refused += 1
        reset_ns = seen[0] + NS if not allowed else now_ns
        headers = {
            "X-Bapi-Limit": str(limit),
            "X-Bapi-Limit-Status": str(max(0, limit - len(seen))),
            "X-Bapi-Limit-Reset-Timestamp": str(reset_ns // 1_000_000),
        }
        return allowed, headers
