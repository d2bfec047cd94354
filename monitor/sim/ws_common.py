"""What every simulated venue socket does alike: the read/write loop, the bounded send queue, the
slow-consumer drop, keep-alive by silence, and forced closes.

Binance (`binance/ws.StreamHub`) and Bybit (`bybit/ws.BybitHub`) differ only in their control protocol, their
URL layout and what they say when they close; those stay in the venue's hub, and the hub passes the
rest in here as parameters. One copy of the loop means a fix to how frames are queued, pinged or
closed reaches both venues, so the collectors' reconnect paths are tested against the same socket.
COIN-M and Hyperliquid ride on the same loop; `control_object` is the one reading of a client's
control message for the hubs that answer bad JSON and a non-object alike (Bybit, Hyperliquid).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine
from typing import Any, Generic, TypeVar

import msgspec
import structlog
from aiohttp import WSCloseCode, WSMsgType, web

from monitor.clock import Clock

__all__ = ["QUEUE_FRAMES", "SocketConnection", "SocketHub", "control_object", "new_queue"]

_log = structlog.get_logger()
QUEUE_FRAMES = 20_000  # frames a reader may fall behind before the venue drops it


def control_object(text: str) -> dict[str, Any] | None:
    """A client's control message as a JSON object, or None when it is not one (bad JSON, a list)."""
    try:
        req = msgspec.json.decode(text)
    except msgspec.DecodeError:
        return None
    return req if isinstance(req, dict) else None


def new_queue() -> asyncio.Queue[bytes | None]:
    return asyncio.Queue(QUEUE_FRAMES)


class SocketConnection:
    """The part of a venue connection the shared loop touches (the venue's dataclass adds the rest)."""

    ws: web.WebSocketResponse
    queue: asyncio.Queue[bytes | None]
    last_seen_ns: int

    def offer(self, frame: bytes) -> bool:
        """Queue a frame; False when the reader is hopelessly behind (the caller drops it)."""
        try:
            self.queue.put_nowait(frame)
            return True
        except asyncio.QueueFull:
            return False

    def offer_close(self) -> bool:
        """Queue the close marker: the writer closes the socket after what was queued before it."""
        try:
            self.queue.put_nowait(None)
            return True
        except asyncio.QueueFull:
            return False


C = TypeVar("C", bound=SocketConnection)


class SocketHub(Generic[C]):
    """The connections of one venue endpoint, and the loop each of them runs.

    `name` prefixes task names and the slow-consumer log event (`{name}_slow_consumer_dropped`);
    `expired_reason` is what the writer says when a queued close marker ends the connection.
    """

    def __init__(self, *, clock: Clock, name: str, expired_reason: bytes = b"") -> None:
        self._clock = clock
        self._name = name
        self._expired_reason = expired_reason
        self.connections: set[C] = set()
        self.frames_sent = 0
        self._background: set[asyncio.Task[None]] = set()

    def _control(self, conn: C, text: str) -> None:
        raise NotImplementedError

    def _admit_message(self, conn: C) -> bool:
        """Whether the venue takes one more incoming message on `conn` (a venue with a limit says)."""
        return True

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro, name=f"{self._name}-close")
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # --- connection life -------------------------------------------------------------------
    async def _serve(self, conn: C) -> None:
        """Read control frames until the peer goes, while a writer task drains the send queue."""
        ws = conn.ws
        self.connections.add(conn)
        writer = asyncio.create_task(self._writer(conn), name=f"{self._name}-writer")
        try:
            async for msg in ws:
                conn.last_seen_ns = self._clock.monotonic_ns()
                if not self._admit_message(conn):  # past the venue's message rate: it hangs up
                    await self._close(conn, WSCloseCode.POLICY_VIOLATION, b"Too many requests")
                    break
                if msg.type == WSMsgType.TEXT:
                    self._control(conn, msg.data)
                elif msg.type == WSMsgType.PING:
                    await ws.pong(msg.data)
        finally:
            self.connections.discard(conn)
            writer.cancel()
            await asyncio.gather(writer, return_exceptions=True)  # never swallows our own cancel

    async def _writer(self, conn: C) -> None:
        """Drain the queue in order; `None` closes the socket after what was queued before it."""
        try:
            while (frame := await conn.queue.get()) is not None:
                await conn.ws.send_frame(frame, WSMsgType.TEXT)
                self.frames_sent += 1
            await conn.ws.close(code=WSCloseCode.GOING_AWAY, message=self._expired_reason)
        except (ConnectionError, RuntimeError):
            return

    def _queue_or_drop(self, conn: C, frame: bytes | None) -> None:
        """Queue a frame (None: close after what is queued); a reader too far behind is dropped,
        as the venue drops slow consumers, so one slow reader cannot stall the tick."""
        if frame is None:
            if conn.offer_close():
                self.connections.discard(conn)
            return
        if not conn.offer(frame):
            _log.warning(f"{self._name.replace('-', '_')}_slow_consumer_dropped", queued=conn.queue.qsize())
            self.connections.discard(conn)
            self._spawn(self._close(conn, WSCloseCode.POLICY_VIOLATION, b"slow consumer"))

    # --- keep-alive and forced closes ---------------------------------------------------------
    async def _close_silent_forever(self, period_s: float, silent_ns: int, reason: bytes, ping: bool) -> None:
        """Every `period_s`, close the peers silent longer than `silent_ns`; ping the others if the
        venue pings (Binance does, Bybit leaves the pinging to the client)."""
        while True:
            await asyncio.sleep(period_s)
            now = self._clock.monotonic_ns()
            for conn in list(self.connections):
                if now - conn.last_seen_ns > silent_ns:
                    await self._close(conn, WSCloseCode.POLICY_VIOLATION, reason)
                elif ping:
                    with contextlib.suppress(ConnectionError, RuntimeError):
                        await conn.ws.ping()

    def close_all_soon(self) -> None:
        """Force-close every connection (a fault, or a venue restart) without awaiting it."""
        self._spawn(self.close_where(lambda _c: True))

    async def close_where(
        self, pred: Callable[[C], bool], code: int = WSCloseCode.GOING_AWAY, reason: bytes = b""
    ) -> None:
        for conn in [c for c in self.connections if pred(c)]:
            await self._close(conn, code, reason)

    async def _close(self, conn: C, code: int, reason: bytes) -> None:
        self.connections.discard(conn)
        with contextlib.suppress(ConnectionError, RuntimeError):
            await conn.ws.close(code=code, message=reason)
