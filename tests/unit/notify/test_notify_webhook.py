"""Webhook notifier against a local HTTP receiver: Alertmanager format, classification, no secret leaks."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator

import pytest
import structlog
from aiohttp import web

from monitor.clock import ManualClock
from monitor.errors import PermanentDeliveryError, RetryableDeliveryError
from monitor.notify.base import classify_http, parse_retry_after
from monitor.notify.webhook import WebhookNotifier
from monitor.records import AlertState
from monitor.secret import Secret
from tests.unit.notify.notify_helpers import T0, TOKEN, Receiver, event, notification


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    r = Receiver()
    await r.start()
    yield r
    await r.stop()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_posts_alertmanager_v4_body_with_idempotency_header(receiver: Receiver) -> None:
    """The body is Alertmanager's webhook format plus idempotencyKey, also sent as Idempotency-Key."""
    hook = WebhookNotifier("desk", Secret(receiver.url()), clock=ManualClock())
    resolved = event(state=AlertState.RESOLVED, symbol="ETHUSDT", event_ns=T0 + 1_500_000)
    n = notification("desk", event(), resolved)
    await hook.notify(n)
    await hook.close()
    [req] = receiver.requests
    body = req["json"]
    assert req["path"] == f"/hooks/{TOKEN}"
    assert req["headers"]["Idempotency-Key"] == n.idempotency_key == body["idempotencyKey"]
    assert (body["version"], body["status"], body["receiver"]) == ("4", "firing", "desk")
    assert body["groupKey"] == n.group_key
    common = {"alertname": "MarginRatioHigh", "severity": "critical", "venue": "binance", "account": "desk1"}
    assert body["commonLabels"] == common
    assert body["groupLabels"] == {"alertname": "MarginRatioHigh"}
    first, second = body["alerts"]
    assert first == {
        "status": "firing",
        "labels": dict(event().labels),
        "annotations": dict(event().annotations),
        "startsAt": "2023-11-14T22:13:20.000Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "",
        "fingerprint": "fp-BTCUSDT",
    }
    assert (second["status"], second["endsAt"]) == ("resolved", "2023-11-14T22:13:20.001Z")


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (500, RetryableDeliveryError),
        (503, RetryableDeliveryError),
        (408, RetryableDeliveryError),
        (429, RetryableDeliveryError),
        (400, PermanentDeliveryError),
        (404, PermanentDeliveryError),
    ],
)
async def test_http_errors_are_classified(receiver: Receiver, status: int, kind: type[Exception]) -> None:
    """5xx, 408 and 429 are worth retrying; other 4xx are permanent; the reason names the status."""
    receiver.responder = lambda _n: web.Response(status=status, text="nope")
    hook = WebhookNotifier("desk", Secret(receiver.url()), clock=ManualClock())
    with pytest.raises(kind) as info:
        await hook.notify(notification())
    await hook.close()
    assert str(info.value) == f"http_{status}"


async def test_retry_after_header_is_passed_on(receiver: Receiver) -> None:
    """A 429's Retry-After becomes retry_after_s for the pipeline to honour."""
    receiver.responder = lambda _n: web.Response(status=429, headers={"Retry-After": "7"})
    hook = WebhookNotifier("desk", Secret(receiver.url()), clock=ManualClock())
    with pytest.raises(RetryableDeliveryError) as info:
        await hook.notify(notification())
    await hook.close()
    assert info.value.retry_after_s == 7.0


def test_classify_http_reads_retry_after_as_http_date() -> None:
    """An HTTP-date Retry-After is turned into seconds from `now_ns`."""
    err = classify_http(503, {"retry-after": "Tue, 14 Nov 2023 22:13:50 GMT"}, "", now_ns=T0)
    assert isinstance(err, RetryableDeliveryError) and err.retry_after_s == 30.0
    assert classify_http(204, {}, "") is None
    assert parse_retry_after("soon") is None and parse_retry_after("99999") == 3600.0


async def test_connection_failure_leaks_no_secret() -> None:
    """With the endpoint down, the token appears in neither the exception nor the logs."""
    url = f"http://127.0.0.1:{_free_port()}/hooks/{TOKEN}?token={TOKEN}"
    hook = WebhookNotifier("desk", Secret(url), clock=ManualClock())
    with structlog.testing.capture_logs() as logs, pytest.raises(RetryableDeliveryError) as info:
        await hook.notify(notification())
    await hook.close()
    text = f"{info.value!s} {info.value!r} {info.value.reason} {hook!r} {logs!r}"
    assert info.value.reason.startswith("connection_error")
    assert TOKEN not in text


async def test_error_body_echoing_the_url_leaks_no_secret(receiver: Receiver) -> None:
    """A 500 page that echoes the request path does not carry the token into errors or logs."""
    receiver.responder = lambda _n: web.Response(status=500, text=f"boom at /hooks/{TOKEN}")
    hook = WebhookNotifier("desk", Secret(receiver.url()), clock=ManualClock())
    with structlog.testing.capture_logs() as logs, pytest.raises(RetryableDeliveryError) as info:
        await hook.notify(notification())
    await hook.close()
    assert TOKEN not in f"{info.value!s} {info.value!r} {logs!r}"


async def test_malformed_url_is_permanent_and_redacted() -> None:
    """A URL aiohttp cannot use will never work: permanent, and the error shows no token."""
    hook = WebhookNotifier("desk", Secret(f"nonsense-{TOKEN}"), clock=ManualClock())
    with pytest.raises(PermanentDeliveryError) as info:
        await hook.notify(notification())
    await hook.close()
    assert TOKEN not in repr(info.value)


@pytest.mark.parametrize(
    "url",
    [
        f"https://hooks.example:8o80/hooks/{TOKEN}",  # redact_url used to raise ValueError on this port
        f"ftp://hooks.example/hooks/{TOKEN}",  # aiohttp's NonHttpUrlClientError used to be retried
        f"https://hooks.example:70000/hooks/{TOKEN}",
    ],
)
async def test_unusable_url_is_permanent_and_redacted(url: str) -> None:
    """A URL that can never be posted to is a permanent failure whose reason shows no token."""
    hook = WebhookNotifier("desk", Secret(url), clock=ManualClock())
    with structlog.testing.capture_logs() as logs, pytest.raises(PermanentDeliveryError) as info:
        await hook.notify(notification())
    await hook.close()
    assert info.value.reason.startswith("invalid_url: ")
    assert TOKEN not in f"{info.value!s} {info.value!r} {info.value.reason} {logs!r}"
