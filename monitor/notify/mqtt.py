"""MQTT (aiomqtt): every alert event on its own topic at QoS 1, and each alert's current state retained.

Topics (`topic_prefix` from the receiver's config, default `perpmon`)::

    <prefix>/alerts/<alertname>/<fingerprint>   every event, QoS 1, not retained
    <prefix>/state/<alertname>/<fingerprint>    QoS 1, retained: the alert while it fires; on resolve an
                                                empty retained message, which deletes the state

So `<prefix>/alerts/#` is the event stream and subscribing to `<prefix>/state/#` yields exactly the
alerts firing now (a dashboard or a PLC-style consumer needs no history). The one-shot
`PerpmonStarted` notice gets no retained state. Payload (both topics), the webhook's alert JSON plus::

    {"status": "firing", "labels": {...}, "annotations": {...}, "startsAt": "...", "endsAt": "...",
     "generatorURL": "", "fingerprint": "3c5e…", "eventId": "9f…", "eventAt": "...",
     "receiver": "plant", "reason": "first"}

QoS 1 is "at least once, possibly multiple times": consumers dedup on `eventId`, which is the same
for the same event across our retries and restarts.

Delivery: a publish counts once the broker acknowledged it (PUBACK). aiomqtt 2 does not
reconnect, so we connect lazily, keep the connection for the next notification, and drop it on
any error; the failure is a RetryableDeliveryError, the outbox keeps the notification and the
dispatcher re-publishes all of it later — a broker that is down delays alerts, never drops them.
Each connection is a fresh client with a clean session, so paho never replays its own queue
behind our back; duplicates come only from our re-publishing, with the same `eventId`. A refused
login or client id (CONNACK 1, 2, 4, 5) will not fix itself: permanent. The broker's own
durability is its business (Mosquitto saves retained messages only every `autosave_interval`).
"""

from __future__ import annotations

import contextlib
import hashlib
import re
from typing import Any

import aiomqtt
import msgspec
from aiomqtt.exceptions import MqttConnectError

from monitor.clock import Clock
from monitor.errors import PermanentDeliveryError, RetryableDeliveryError
from monitor.notify.model import Notification
from monitor.notify.render import rfc3339
from monitor.notify.webhook import alert_json
from monitor.records import AlertEvent, AlertState
from monitor.rules.model import STARTED_ALERTNAME
from monitor.secret import Secret, redact_text

__all__ = ["MqttNotifier", "event_id", "topics"]

# CONNACK codes that retrying cannot fix: MQTT 3.1.1 (1, 2, 4, 5) and their MQTT 5 reason codes
_PERMANENT_CONNACK = frozenset({1, 2, 4, 5, 132, 133, 134, 135, 138, 140})
_TOPIC_UNSAFE = re.compile(r"[+#/\x00]")


def event_id(a: AlertEvent) -> str:
    """The same for the same event wherever and however often it is published."""
    h = hashlib.sha256(f"{a.fingerprint}\x1f{a.state.value}\x1f{a.starts_at_ns}\x1f{a.event_ns}".encode())
    return h.hexdigest()[:32]


def topics(prefix: str, a: AlertEvent) -> tuple[str, str]:
    """(event topic, retained state topic) of one alert."""
    name = _TOPIC_UNSAFE.sub("_", a.labels.get("alertname", "unnamed")) or "unnamed"
    return f"{prefix}/alerts/{name}/{a.fingerprint}", f"{prefix}/state/{name}/{a.fingerprint}"


def _connack_code(exc: aiomqtt.MqttCodeError) -> int | None:
    rc = getattr(exc.rc, "value", exc.rc)  # paho's ReasonCode (MQTT 5 numbering) or a 3.1.1 int
    return rc if isinstance(rc, int) else None


class MqttNotifier:
    """Publish to one broker; see the module docstring."""

    def __init__(
        self,
        name: str,
        *,
        host: str,
        port: int = 1883,
        topic_prefix: str = "perpmon",
        credentials: tuple[Secret, Secret] | None = None,
        client_id: str | None = None,
        clock: Clock,
        timeout_s: float = 10.0,
    ) -> None:
        self.name = name
        self._host, self._port, self._prefix = host, port, topic_prefix
        self._credentials = credentials
        self._client_id = client_id or f"perpmon-notify-{name}"
        self._clock = clock
        self._timeout_s = timeout_s
        self._client: aiomqtt.Client | None = None

    def __repr__(self) -> str:
        return f"MqttNotifier({self.name!r}, mqtt://{self._host}:{self._port}/{self._prefix})"

    def payload(self, n: Notification, a: AlertEvent) -> bytes:
        body: dict[str, Any] = alert_json(a)
        body.update(eventId=event_id(a), eventAt=rfc3339(a.event_ns), receiver=n.receiver)
        body["reason"] = n.reason.value
        return msgspec.json.encode(body)

    async def notify(self, n: Notification) -> None:
        try:
            client = await self._connect()
            for a in n.alerts:
                data = self.payload(n, a)
                event_topic, state_topic = topics(self._prefix, a)
                await client.publish(event_topic, data, qos=1)
                if a.labels.get("alertname") != STARTED_ALERTNAME:
                    state = data if a.state is AlertState.FIRING else b""
                    await client.publish(state_topic, state, qos=1, retain=True)
        except MqttConnectError as exc:
            await self.close()
            code = _connack_code(exc)
            reason = f"mqtt_refused: {self._redact(str(exc))}"
            if code in _PERMANENT_CONNACK:
                raise PermanentDeliveryError(reason) from None
            raise RetryableDeliveryError(reason) from None
        except (aiomqtt.MqttError, OSError) as exc:
            await self.close()
            raise RetryableDeliveryError(f"connection_error: {self._redact(str(exc))}") from None
        except BaseException:  # cancelled by the dispatcher's timeout: the connection is in an unknown state
            await self.close()
            raise

    async def _connect(self) -> aiomqtt.Client:
        if self._client is not None:
            return self._client
        user, password = (s.reveal() for s in self._credentials) if self._credentials else (None, None)
        client = aiomqtt.Client(
            self._host,
            self._port,
            username=user,
            password=password,
            identifier=self._client_id,
            clean_session=True,
            timeout=self._timeout_s,
        )
        await client.__aenter__()
        self._client = client
        return client

    async def close(self) -> None:
        """Disconnect (gracefully if the broker is still there); the next notify reconnects."""
        client, self._client = self._client, None
        if client is None:
            return
        with contextlib.suppress(Exception):
            await client.__aexit__(None, None, None)
        # aiomqtt leaves an unexpected disconnection's error on this future when it exits early;
        # reading it keeps asyncio from logging "Future exception was never retrieved".
        lost = getattr(client, "_disconnected", None)
        if lost is not None and lost.done() and not lost.cancelled():
            lost.exception()

    def _redact(self, text: str) -> str:
        return redact_text(text, self._credentials or ())
