"""Shared fixtures for notifier tests: sample events and a local HTTP receiver on a free loopback port."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from monitor.notify.model import Notification, NotifyReason, idempotency_key
from monitor.records import AlertEvent, AlertState, Severity

T0 = 1_700_000_000 * 1_000_000_000
TOKEN = "T0KEN-s3cr3t-9f8e7d"


def event(
    state: AlertState = AlertState.FIRING,
    severity: Severity = Severity.CRITICAL,
    symbol: str = "BTCUSDT",
    event_ns: int = T0,
) -> AlertEvent:
    return AlertEvent(
        fingerprint=f"fp-{symbol}",
        labels={
            "alertname": "MarginRatioHigh",
            "severity": severity.label,
            "venue": "binance",
            "account": "desk1",
            "symbol": symbol,
        },
        annotations={"summary": f"margin ratio high on {symbol}", "value": "0.91", "threshold": "0.9"},
        state=state,
        severity=severity,
        starts_at_ns=T0,
        ends_at_ns=event_ns if state is AlertState.RESOLVED else None,
        value=0.91,
        event_ns=event_ns,
    )


def notification(receiver: str = "desk", *alerts: AlertEvent, created_ns: int = T0) -> Notification:
    evs = alerts or (event(),)
    return Notification(
        receiver=receiver,
        integration="webhook",
        group_key='{}:{alertname="MarginRatioHigh"}',
        reason=NotifyReason.FIRST,
        alerts=tuple(evs),
        created_ns=created_ns,
        idempotency_key=idempotency_key(receiver, evs),
    )


Responder = Callable[[int], web.Response]


@dataclass
class Receiver:
    """Records every request; `responder(n)` decides the n-th response (0-based)."""

    responder: Responder = field(default=lambda _n: web.Response(status=200, text="ok"))
    requests: list[dict[str, Any]] = field(default_factory=list)
    runner: web.AppRunner | None = None
    base: str = ""

    async def _handle(self, request: web.Request) -> web.Response:
        text = await request.text()
        body = json.loads(text) if request.content_type == "application/json" else None
        self.requests.append(
            {"path": request.path, "headers": dict(request.headers), "json": body, "text": text}
        )
        return self.responder(len(self.requests) - 1)

    async def start(self, port: int = 0) -> str:
        """Listen on `port` (0: any free one); a stopped receiver can start again on the same port."""
        app = web.Application()
        app.router.add_post("/{tail:.*}", self._handle)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", port)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base = f"http://127.0.0.1:{port}"
        return self.base

    def url(self) -> str:
        return f"{self.base}/hooks/{TOKEN}"

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
