"""Alertmanager API v2: post alerts the way Prometheus does, so Alertmanager routes, groups and silences them.

The receiver's URL variable holds Alertmanager's base URL (`http://alertmanager:9093`, with
`user:password@` if its web config asks for basic auth); we POST `<base>/api/v2/alerts`.

Request (a JSON list; Alertmanager answers 200 with an empty body)::

    [{"labels": {"alertname": "MarginRatio", "severity": "critical", "venue": "binance", "account": "degen"},
      "annotations": {"summary": "degen margin ratio 0.83 (liquidation at 1)", "value": "0.83", ...},
      "startsAt": "2024-08-05T03:00:00.000Z", "endsAt": "2024-08-05T03:04:00.000Z",
      "generatorURL": ""}]

Alertmanager forgets an alert at its `endsAt`, and its docs oblige clients to re-send active alerts
and to send resolutions with `endsAt` set. So:

- a firing alert's `endsAt` is the *send* time plus 4 × `resend_s` (Prometheus: 4 × its resend
  delay), computed here when the request goes out, so a notification delayed by an outage does not
  arrive already expired; perpmon re-sends the firing set every `resend_s` (`resend_s` attribute,
  see monitor/notify/resend.py), so an alert stays active exactly while perpmon says it fires, and
  expires on its own if perpmon dies (the heartbeat then disappears too);
- a resolved alert's `endsAt` is when it resolved; it is re-sent for 5 minutes.

Alertmanager validates the whole list and refuses all of it on one bad alert (400); we never send
empty label values and never let `endsAt` precede `startsAt`. A 400 is permanent, 5xx retried.
"""

from __future__ import annotations

from typing import Any, Unpack

import msgspec

from monitor.clock import NS_PER_S
from monitor.notify.http_notifier import HttpNotifier, HttpOptions
from monitor.notify.model import Notification
from monitor.notify.render import rfc3339
from monitor.records import AlertEvent, AlertState
from monitor.secret import Secret

__all__ = ["API_PATH", "AlertmanagerNotifier", "postable_alert"]

API_PATH = "/api/v2/alerts"
EXPIRY_RESENDS = 4  # a firing alert stays active this many re-send intervals without news


def postable_alert(a: AlertEvent, now_ns: int, resend_s: float) -> dict[str, Any]:
    """One alert in Alertmanager's `postableAlert` shape, `endsAt` relative to the send time `now_ns`."""
    if a.state is AlertState.FIRING:
        ends = now_ns + round(EXPIRY_RESENDS * resend_s * NS_PER_S)
    else:
        ends = a.ends_at_ns if a.ends_at_ns is not None else now_ns
    return {
        "labels": {k: v for k, v in a.labels.items() if v},
        "annotations": {k: v for k, v in a.annotations.items() if v},
        "startsAt": rfc3339(a.starts_at_ns),
        "endsAt": rfc3339(max(ends, a.starts_at_ns)),
        "generatorURL": "",  # no page of ours shows one alert; the figure is in the annotations
    }


class AlertmanagerNotifier(HttpNotifier):
    """POST each notification's alerts to one Alertmanager; `resend_s` asks the dispatcher for re-sends."""

    def __init__(
        self, name: str, url: Secret, *, resend_s: float = 60.0, **options: Unpack[HttpOptions]
    ) -> None:
        super().__init__(name, url, **options)
        self.resend_s = resend_s
        self._suffix = API_PATH[1:] if url.reveal().endswith("/") else API_PATH

    async def notify(self, n: Notification) -> None:
        now = self._clock.now_ns()
        await self.post(
            msgspec.json.encode([postable_alert(a, now, self.resend_s) for a in n.alerts]),
            suffix=self._suffix,
        )
