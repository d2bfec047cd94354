"""Off-exchange holdings (custody, cold wallets) declared in config.toml.

They are half of a hedged book: the perp short on the venue is only a hedge against coins held
elsewhere. They enter the store as ordinary `Holding` records so the evaluator treats config and
(later) MQTT-pushed holdings alike.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from monitor.records import Holding

__all__ = ["Declared", "Priced", "cleared_holding", "declared_holding", "holdings_from_config"]


class Priced(Protocol):
    """A holding as it is declared: config.toml's `[[holdings]]`, a what-if book's, an MQTT message."""

    @property
    def asset(self) -> str: ...
    @property
    def quantity(self) -> float: ...
    @property
    def price_venue(self) -> str: ...
    @property
    def price_symbol(self) -> str: ...


class Declared(Priced, Protocol):
    @property
    def name(self) -> str: ...


def declared_holding(
    source: str, name: str, h: Priced, now_ns: int, max_age_s: float | None = None
) -> Holding:
    """Holding `name` from `source` (config, book, mqtt: the `venue` a cleared one names too)."""
    return Holding(
        venue=source,
        ts_event_ns=now_ns,
        ts_recv_ns=now_ns,
        name=name,
        asset=h.asset,
        quantity=h.quantity,
        price_venue=h.price_venue,
        price_symbol=h.price_symbol,
        max_age_s=max_age_s,
    )


def holdings_from_config(items: Iterable[Declared], now_ns: int, source: str = "config") -> list[Holding]:
    return [declared_holding(source, h.name, h, now_ns) for h in items]


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
