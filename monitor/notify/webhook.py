"""Generic JSON webhook in Alertmanager's webhook format (version "4"), plus an idempotency key.

Anything that already consumes Alertmanager webhooks (PagerDuty/Opsgenie bridges, in-house
incident tools) consumes perpmon's. The URL is a `Secret` (webhook URLs carry their token in the
path) and is revealed only inside `notify`; every error text is redacted before it is raised.

Payload::

    {"version": "4", "groupKey": "...", "truncatedAlerts": 0, "status": "firing",
     "receiver": "desk", "groupLabels": {...}, "commonLabels": {...}, "commonAnnotations": {...},
     "externalURL": "", "idempotencyKey": "9f…",
     "alerts": [{"status": "firing", "labels": {...}, "annotations": {...},
                 "startsAt": "2024-08-05T03:00:00.000Z", "endsAt": "0001-01-01T00:00:00Z",
                 "generatorURL": "", "fingerprint": "3c5e…"}]}
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import aiohttp
import msgspec
import structlog

from monitor.clock import Clock
from monitor.errors import PermanentDeliveryError, RetryableDeliveryError
from monitor.notify.base import classify_http
from monitor.notify.model import Notification
from monitor.notify.render import rfc3339
from monitor.records import AlertEvent
from monitor.secret import Secret, redact_text, redact_url

__all__ = ["SessionFactory", "WebhookNotifier", "alertmanager_payload"]

log = structlog.get_logger(__name__)

SessionFactory = Callable[[], aiohttp.ClientSession]


def _common(maps: list[dict[str, str]]) -> dict[str, str]:
    if not maps:
        return {}
    first = maps[0]
    return {k: v for k, v in first.items() if all(m.get(k) == v for m in maps[1:])}


def _alert(a: AlertEvent) -> dict[str, Any]:
    return {
        "status": a.state.value,
        "labels": dict(a.labels),
        "annotations": dict(a.annotations),
        "startsAt": rfc3339(a.starts_at_ns),
        "endsAt": rfc3339(a.ends_at_ns),
        "generatorURL": "",
        "fingerprint": a.fingerprint,
    }


def alertmanager_payload(n: Notification) -> dict[str, Any]:
    """Alertmanager webhook body for `n` (see the module docstring)."""
    common = _common([dict(a.labels) for a in n.alerts])
    return {
        "version": "4",
        "groupKey": n.group_key,
        "truncatedAlerts": 0,
        "status": n.status.value,
        "receiver": n.receiver,
        "groupLabels": {k: v for k, v in common.items() if k == "alertname"},
        "commonLabels": common,
        "commonAnnotations": _common([dict(a.annotations) for a in n.alerts]),
        "externalURL": "",
        "alerts": [_alert(a) for a in n.alerts],
        "idempotencyKey": n.idempotency_key,
    }


class WebhookNotifier:
    """POST the payload; 2xx is delivered, everything else is classified by `classify_http`."""

    def __init__(
        self,
        name: str,
        url: Secret,
        *,
        clock: Clock,
        session_factory: SessionFactory | None = None,
        timeout_s: float = 10.0,
    ) -> None:
        self.name = name
        self._url = url
        self._clock = clock
        self._factory = session_factory or aiohttp.ClientSession
        self._session: aiohttp.ClientSession | None = None
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)

    def __repr__(self) -> str:
        return f"WebhookNotifier({self.name!r}, {redact_url(self._url.reveal())})"

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _redact(self, text: str) -> str:
        raw = self._url.reveal()
        return redact_text(text.replace(raw, redact_url(raw)), (self._url,))

    async def notify(self, n: Notification) -> None:
        if self._session is None or self._session.closed:
            self._session = self._factory()
        body = msgspec.json.encode(alertmanager_payload(n))
        headers = {"Content-Type": "application/json", "Idempotency-Key": n.idempotency_key}
        try:
            async with self._session.post(
                self._url.reveal(), data=body, headers=headers, timeout=self._timeout, allow_redirects=False
            ) as resp:
                text = await resp.text(errors="replace")
                status, resp_headers = resp.status, dict(resp.headers)
        except TimeoutError:
            raise RetryableDeliveryError("timeout") from None
        except aiohttp.InvalidURL:
            raise PermanentDeliveryError("invalid_url: " + redact_url(self._url.reveal())) from None
        except (aiohttp.ClientError, OSError) as exc:
            detail = self._redact(f"{type(exc).__name__}: {exc}")
            raise RetryableDeliveryError(f"connection_error: {detail}") from None
        err = classify_http(status, resp_headers, text, now_ns=self._clock.now_ns())
        if err is not None:
            log.debug("webhook rejected", receiver=self.name, status=status, body=self._redact(text[:300]))
            raise err
