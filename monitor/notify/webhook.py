"""Generic JSON webhook in Alertmanager's webhook format (version "4"), plus an idempotency key.

Anything that already consumes Alertmanager webhooks (PagerDuty/Opsgenie bridges, in-house
incident tools) consumes perpmon's. `title` and `text` (extra top-level keys, ignored by consumers
that do not know them) are what a chat channel would show, and each alert's annotations carry the
same facts one by one (`value_text`, `mark`, `distance`, … from `monitor/rules/context.py`).
The URL is a `Secret` (webhook URLs carry their token in the
path) and is revealed only inside `notify`; every error text is redacted before it is raised.

Payload::

    {"version": "4", "groupKey": "...", "truncatedAlerts": 0, "status": "firing",
     "receiver": "desk", "groupLabels": {...}, "commonLabels": {...}, "commonAnnotations": {...},
     "externalURL": "", "idempotencyKey": "9f…",
     "title": "[FIRING critical] LiquidationDistance · binance degen BTCUSDT",
     "text": "🔴 FIRING critical LiquidationDistance [binance degen BTCUSDT]: …\n   Mark: 36,512.3 …",
     "alerts": [{"status": "firing", "labels": {...}, "annotations": {...},
                 "startsAt": "2024-08-05T03:00:00.000Z", "endsAt": "0001-01-01T00:00:00Z",
                 "generatorURL": "", "fingerprint": "3c5e…"}]}
"""

from __future__ import annotations

from typing import Any

import msgspec

from monitor.notify.http_notifier import HttpNotifier
from monitor.notify.model import Notification
from monitor.notify.render import body, rfc3339, title
from monitor.notify.transport import SessionFactory
from monitor.records import AlertEvent

__all__ = ["SessionFactory", "WebhookNotifier", "alert_json", "alertmanager_payload"]


def _common(maps: list[dict[str, str]]) -> dict[str, str]:
    if not maps:
        return {}
    first = maps[0]
    return {k: v for k, v in first.items() if all(m.get(k) == v for m in maps[1:])}


def alert_json(a: AlertEvent) -> dict[str, Any]:
    """One alert as Alertmanager's webhook writes it (also the MQTT payload)."""
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
        "alerts": [alert_json(a) for a in n.alerts],
        "idempotencyKey": n.idempotency_key,
        "title": title(n),
        "text": body(n),
    }


class WebhookNotifier(HttpNotifier):
    """POST the payload; 2xx is delivered, everything else is classified by `classify_http`."""

    async def notify(self, n: Notification) -> None:
        body = msgspec.json.encode(alertmanager_payload(n))
        await self.post(body, headers={"Idempotency-Key": n.idempotency_key})
