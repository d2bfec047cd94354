"""Every notifier failing at once: no token, password or URL secret in logs, errors, outbox or /metrics."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest
import structlog
from aiohttp import web
from prometheus_client import CollectorRegistry, generate_latest

from monitor.clock import LiveClock
from monitor.config import ReceiverConfig
from monitor.errors import DeliveryError
from monitor.metrics import DeliveryStats, EvaluationStats, PerpmonMetrics
from monitor.notify import NOTIFIERS, Dispatcher, Outbox, build_notifiers
from monitor.secret import Secret
from tests.support.servers import mosquitto
from tests.unit.notify.notify_helpers import T0, Receiver, event, notification

pytestmark = pytest.mark.integration

HTTP_KINDS = ("webhook", "slack", "discord", "telegram", "ntfy")
MQ_USER, MQ_PASS, AM_PASS = "mq-user-8c1f", "mq-pass-5e2d9a", "am-pass-77b3c0"


async def until(cond: Callable[[], bool], limit_s: float = 10.0) -> None:
    for _ in range(int(limit_s / 0.01)):
        if cond():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not met in time")


def token(kind: str) -> str:
    return f"{kind}-T0KEN-4d5e6f7a"


def receivers(mqtt_port: int) -> tuple[ReceiverConfig, ...]:
    http = tuple(
        ReceiverConfig(
            name=k, type=k, url_env="U", chat_id="-100" if k == "telegram" else None, timeout_s=2.0
        )  # type: ignore[arg-type]
        for k in HTTP_KINDS
    )
    return (
        *http,
        ReceiverConfig(name="alertmanager", type="alertmanager", url_env="U", timeout_s=2.0),
        ReceiverConfig(
            name="mqtt", type="mqtt", host="127.0.0.1", port=mqtt_port, username_env="A", password_env="B"
        ),
    )


async def test_no_secret_leaks_with_every_notifier_failing(tmp_path: Path) -> None:
    """500s echoing the request path, then dead endpoints, and a broker refusing the login: no secret."""
    hook = Receiver()
    hook.responder = lambda n: web.Response(status=500, text=f"bad request to {hook.requests[n]['path']}")
    await hook.start()
    host = hook.base.removeprefix("http://")
    urls = {k: Secret(f"{hook.base}/hooks/{token(k)}?token={token(k)}") for k in HTTP_KINDS}
    urls["telegram"] = Secret(f"{hook.base}/bot{token('telegram')}")
    urls["alertmanager"] = Secret(f"http://perpmon:{AM_PASS}@{host}")
    logins = {"mqtt": (Secret(MQ_USER), Secret(MQ_PASS))}
    secrets = [*urls.values(), *logins["mqtt"]]
    assert {r.type for r in receivers(1)} == set(NOTIFIERS) - {"console"}, "every integration is covered"

    with (
        mosquitto(tmp_path, allow_anonymous=False) as (mqtt_port, _),
        structlog.testing.capture_logs() as logs,
    ):
        rcv = receivers(mqtt_port)
        clock = LiveClock()
        notifiers = build_notifiers(rcv, urls, clock=clock, credentials=logins)
        outbox = Outbox(tmp_path / "o.db")
        d = Dispatcher(
            rcv, notifiers, outbox, clock, secrets=secrets, backoff_initial_s=0.01, backoff_max_s=0.05
        )
        worker = asyncio.create_task(d.run())
        await d.submit([event()], T0)
        # every HTTP receiver saw an echoing 500, the broker refused us
        await until(lambda: all(d.failed_total.get((r.name, "http_500")) for r in rcv[:-1]))
        await until(lambda: d.given_up_total["mqtt"] == 1)
        await hook.stop()  # now the endpoints are gone: transport errors carry URLs
        await until(lambda: all(d.failed_total.get((r.name, "connection_error")) for r in rcv[:-1]))
        worker.cancel()
        await asyncio.gather(worker, return_exceptions=True)
        errors: list[str] = []
        for n in notifiers.values():  # and the exceptions themselves, raised straight from notify()
            try:
                await n.notify(notification(n.name))
            except DeliveryError as exc:
                errors += [str(exc), repr(exc), getattr(exc, "reason", ""), repr(n)]
        await d.close()
    reasons = {reason for _, reason in d.failed_total}
    assert {"http_500", "connection_error", "mqtt_refused"} <= reasons, reasons
    assert len(errors) == 4 * len(rcv)

    reg = CollectorRegistry()
    reg.register(
        PerpmonMetrics(
            figures=lambda: None,
            collectors=[],
            evaluation=EvaluationStats(),
            delivery=lambda: [
                DeliveryStats(
                    receiver=name,
                    pending=d.pending(name),
                    sent=d.sent_total[name],
                    failed={reason: c for (r, reason), c in d.failed_total.items() if r == name},
                )
                for name in d.receiver_names
            ],
            firing=lambda: [],
            started_ns=T0,
            version="test",
        )
    )
    metrics = generate_latest(reg).decode()
    assert 'perpmon_notifications_failed_total{reason="http_500",receiver="slack"}' in metrics
    places = {"logs": repr(logs), "errors": repr(errors), "outbox": repr(outbox.rows()), "metrics": metrics}
    outbox.close()
    needles = [*(token(k) for k in HTTP_KINDS), AM_PASS, MQ_USER, MQ_PASS]
    leaks = {(where, s) for where, text in places.items() for s in needles if s in text}
    assert leaks == set()
    bodies = [e["body"] for e in logs if "body" in e]
    assert "bad request to <redacted>" in bodies, "the echoing bodies were logged, redacted"
