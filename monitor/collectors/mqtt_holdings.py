"""Off-exchange holdings pushed over MQTT (aiomqtt), validated before they touch the book.

Topic `<prefix>/holdings/<name>`, retained, QoS 1, JSON::

    {"asset": "BTC", "quantity": 50.0, "price_venue": "binance", "price_symbol": "BTCUSDT"}

Retained messages give the state at start (a custody system publishes once, perpmon restarts
freely). A bad message is never applied: the reason is published to `<topic>/rejected`, logged and
counted, and the last good value stays. An empty payload clears a holding this broker pushed.

Pushed holdings live in their own namespace (the store keys them by source): a message naming a
holding declared in config.toml is refused (`config_holding`), so a stray or malicious empty
retained message cannot take the custody leg out of the book and quietly silence HedgeRatioLow.
With `max_age_s`, a pushed holding not updated for that long is flagged on every figure built on
it; a retained copy the broker re-sends on reconnect keeps its first receipt time, so reconnects do
not make an old value look new.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Collection

import aiomqtt
import msgspec
import structlog

from monitor.backoff import backoff
from monitor.clock import Clock
from monitor.collectors.base import CollectorStats, RecordSink
from monitor.collectors.holdings import cleared_holding, declared_holding
from monitor.config import MqttConfig, mqtt_tls_context
from monitor.errors import ParseError
from monitor.records import FeedState, FeedStatus, Holding
from monitor.secret import Secret

__all__ = ["HoldingMessage", "MqttHoldingsCollector", "parse_holding"]

log = structlog.get_logger(__name__)
_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_ASSET = re.compile(r"^[A-Z0-9]{2,16}$")


class HoldingMessage(msgspec.Struct, forbid_unknown_fields=True):
    asset: str
    quantity: float
    price_venue: str
    price_symbol: str


_decoder = msgspec.json.Decoder(HoldingMessage)


def parse_holding(
    topic: str,
    payload: bytes,
    prefix: str,
    prices: set[tuple[str, str]],
    now_ns: int,
    *,
    declared: Collection[str] = (),
    max_age_s: float | None = None,
) -> Holding:
    """Validate one message; `prices` are the (venue, spot symbol) pairs perpmon can value.

    `declared` are the names config.toml holds: a message may not touch them, not even to clear.
    """
    name = topic.removeprefix(f"{prefix}/holdings/")
    if name == topic or not _NAME.match(name):
        raise ParseError("bad_topic", topic)
    if name in declared:
        raise ParseError("config_holding", f"{name!r} is declared in config.toml; MQTT cannot change it")
    if not payload:
        return cleared_holding("mqtt", name, now_ns)
    try:
        m = _decoder.decode(payload)
    except msgspec.ValidationError as exc:
        raise ParseError("schema", str(exc)) from None
    except msgspec.DecodeError:
        raise ParseError("malformed_json") from None
    if not _ASSET.match(m.asset):
        raise ParseError("schema", f"asset {m.asset!r}")
    if not (math.isfinite(m.quantity) and m.quantity >= 0):
        raise ParseError("out_of_range", f"quantity {m.quantity}")
    if (m.price_venue, m.price_symbol) not in prices:
        raise ParseError("unknown_price", f"{m.price_venue}:{m.price_symbol} is not a watched spot book")
    return declared_holding("mqtt", name, m, now_ns, max_age_s)


class MqttHoldingsCollector:
    def __init__(
        self,
        *,
        cfg: MqttConfig,
        credentials: tuple[Secret, Secret] | None,
        prices: set[tuple[str, str]],
        sink: RecordSink,
        clock: Clock,
        declared: Callable[[], Collection[str]] = frozenset,
    ) -> None:
        self.cfg = cfg
        self.credentials = credentials
        self.prices = prices
        self.sink = sink
        self.clock = clock
        self.declared = declared  # config.toml's holding names, read per message (a reload changes them)
        self.tls = mqtt_tls_context(cfg)
        self.stats = CollectorStats("mqtt")
        self.rejected = 0
        self._applied: dict[str, tuple[bytes, int]] = {}  # name → (payload, first receipt time)

    def tasks(self) -> dict[str, object]:
        return {"mqtt.holdings": self.run}

    def _status(self, state: FeedState, reason: str) -> None:
        now = self.clock.now_ns()
        self.sink.put(
            FeedStatus(
                venue="mqtt", ts_event_ns=now, ts_recv_ns=now, stream="holdings", state=state, reason=reason
            )
        )

    async def run(self) -> None:
        delays = backoff(initial_s=0.5, max_s=30.0)
        user, password = (c.reveal() for c in self.credentials) if self.credentials else (None, None)
        topic = f"{self.cfg.topic_prefix}/holdings/+"
        while True:
            try:
                async with aiomqtt.Client(
                    self.cfg.host,
                    self.cfg.port,
                    username=user,
                    password=password,
                    identifier=self.cfg.client_id,
                    tls_context=self.tls,
                ) as client:
                    await client.subscribe(topic, qos=1)
                    self.stats.connected["mqtt"] = True
                    self._status(FeedState.UP, "")
                    delays = backoff(initial_s=0.5, max_s=30.0)
                    async for msg in client.messages:
                        await self._handle(client, str(msg.topic), bytes(msg.payload or b""), msg.retain)
            except aiomqtt.MqttError as exc:
                self.stats.connected["mqtt"] = False
                self._status(FeedState.DOWN, type(exc).__name__)
                log.warning(
                    "mqtt connection failed", host=self.cfg.host, port=self.cfg.port, error=type(exc).__name__
                )
            self.stats.reconnects["mqtt"] += 1
            await self.clock.sleep(next(delays))

    async def _handle(
        self, client: aiomqtt.Client, topic: str, payload: bytes, retained: bool = False
    ) -> None:
        if topic.endswith("/rejected"):
            return
        now = self.clock.now_ns()
        try:
            rec = parse_holding(
                topic,
                payload,
                self.cfg.topic_prefix,
                self.prices,
                now,
                declared=self.declared(),
                max_age_s=self.cfg.max_age_s,
            )
        except ParseError as exc:
            self.stats.drop(exc.reason)
            self.rejected += 1
            log.warning("holding rejected", topic=topic, reason=exc.reason, detail=str(exc)[:200])
            body = msgspec.json.encode({"reason": exc.reason, "detail": str(exc)[:500]})
            await client.publish(f"{topic}/rejected", body, qos=1)
            return
        self.stats.messages["mqtt"] += 1
        seen = self._applied.get(rec.name)
        if retained and seen is not None and seen[0] == payload:  # the broker's copy again, not news
            rec = msgspec.structs.replace(rec, ts_event_ns=seen[1], ts_recv_ns=seen[1])
        self._applied[rec.name] = (payload, rec.ts_recv_ns)
        self.sink.put(rec)
        if rec.cleared:
            log.info("holding cleared", name=rec.name)
        else:
            log.info("holding updated", name=rec.name, asset=rec.asset, quantity=rec.quantity)
