"""What a market socket is told before it opens: its policy, the venue's dialect, its quiet probe.

Split from `wsfeed.py` (the loop that keeps one socket honest) because these are the parameters
every venue's collector passes in: the policy from the venue's config, the dialect where the venue
is not Binance (Bybit's `op: subscribe` and application pings), the REST probe of a change-only
feed. `wsfeed` re-exports them, so callers keep importing from there. `open_socket` is the one
place a policy becomes a `connect` call, for market and account sockets of every venue alike.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import websockets
from websockets.asyncio.client import ClientConnection, connect

from monitor.config import VenueConfig
from monitor.records import Record

__all__ = [
    "BINANCE_DIALECT",
    "NETWORK_ERRORS",
    "Parser",
    "QuietProbe",
    "WsDialect",
    "WsPolicy",
    "describe",
    "open_socket",
    "ws_policy",
]

Parser = Callable[[bytes | str, int], Iterable[Record]]
NETWORK_ERRORS = (OSError, TimeoutError, websockets.exceptions.WebSocketException)


@dataclass(frozen=True, slots=True)
class WsPolicy:
    max_age_s: float = 82_800.0  # rotate before the venue's 24 h cut
    subscribe_rate_per_s: float = 4.0  # the venue allows 10 inbound messages/s per connection
    subscribe_batch: int = 50  # stream names per SUBSCRIBE message
    overlap_s: float = 3.0  # make-before-break: read both connections this long
    open_timeout_s: float = 10.0
    ping_interval_s: float = 20.0  # a dead peer is found within ping_interval + ping_timeout
    ping_timeout_s: float = 20.0
    backoff_initial_s: float = 0.5
    backoff_max_s: float = 60.0
    stale_backoff_max_s: float = 300.0
    max_size: int = 2**22
    max_queue: int = 1024  # frames buffered before TCP backpressure (16 by default: a wake-up per frame)


def ws_policy(v: VenueConfig) -> WsPolicy:
    """The socket policy a venue's config asks for."""
    return WsPolicy(
        max_age_s=v.connection_max_age_s,
        subscribe_rate_per_s=v.subscribe_messages_per_s,
        overlap_s=min(3.0, v.connection_max_age_s / 4),  # read both sockets this long when replacing
    )


async def open_socket(url: str, p: WsPolicy, **extra: Any) -> ClientConnection:
    """Connect under the policy's timeouts and frame cap, compression off (as every perpmon socket
    has always been opened); `extra` adds `connect` options (the market feed's `max_queue`)."""
    return await connect(
        url,
        open_timeout=p.open_timeout_s,
        ping_interval=p.ping_interval_s,
        ping_timeout=p.ping_timeout_s,
        max_size=p.max_size,
        compression=None,
        **extra,
    )


def _binance_subscribe(streams: list[str], request_id: int) -> str:
    return json.dumps({"method": "SUBSCRIBE", "params": streams, "id": request_id})


@dataclass(frozen=True, slots=True)
class WsDialect:
    """What differs between venues on a market socket: the subscribe message and keep-alive.

    Binance takes `{"method":"SUBSCRIBE"}` and keeps sockets alive with protocol pings; Bybit
    takes `{"op":"subscribe","args":[…]}` (at most 10 topics per message) and drops a socket that
    sends no application `{"op":"ping"}` for about 20 s.
    """

    subscribe: Callable[[list[str], int], str] = _binance_subscribe
    max_batch: int = 1024  # topics per subscribe message, on top of `WsPolicy.subscribe_batch`
    app_ping: Callable[[int], str] | None = None  # the text ping, given a request counter
    app_ping_s: float = 20.0
    is_pong: Callable[[bytes | str], bool] | None = None  # the answer to `app_ping`


class QuietProbe(Protocol):
    """The venue's current value of silent streams, read another way (REST), for a change-only feed."""

    async def confirm(self, last: Mapping[str, Record]) -> list[Record]:
        """Given the last record of each silent stream, a fresh record for each whose value is unchanged."""
        ...

    async def aclose(self) -> None: ...


BINANCE_DIALECT = WsDialect()


def describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:200]
