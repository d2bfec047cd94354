"""Off-exchange holdings (custody, cold wallets) declared in config.toml.

They are half of a hedged book: the perp short on the venue is only a hedge against coins held
elsewhere. They enter the store as ordinary `Holding` records so the evaluator treats config and
(later) MQTT-pushed holdings alike.
"""

from __future__ import annotations

from monitor.config import HoldingConfig
from monitor.records import Holding

__all__ = ["cleared_holding", "holdings_from_config"]


def holdings_from_config(items: tuple[HoldingConfig, ...], now_ns: int) -> list[Holding]:
    return [
        Holding(
            venue="config",
            ts_event_ns=now_ns,
            ts_recv_ns=now_ns,
            name=h.name,
            asset=h.asset,
            quantity=h.quantity,
            price_venue=h.price_venue,
            price_symbol=h.price_symbol,
        )
        for h in items
    ]


def cleared_holding(source: str, name: str, now_ns: int) -> Holding:
    """The record that removes holding `name` (a reload dropped it, an MQTT message emptied it).

    A removal is a record like any other, not a delete on the store: it goes through the same
    `put`, so the evaluator sees the book change on the next tick and the history says when.
    """
    return Holding(
        venue=source,
        ts_event_ns=now_ns,
        ts_recv_ns=now_ns,
        name=name,
        asset="",
        quantity=0.0,
        price_venue="",
        price_symbol="",
        cleared=True,
    )
