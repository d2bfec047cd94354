"""A leverage-tier reply parsed symbol by symbol, so one bad row costs only its own symbol.

Binance's `/fapi/v1/leverageBracket` and Bybit's `/v5/market/risk-limit` list every symbol in one
reply. A row the parser cannot use (a missing field, a rate out of range) used to fail the whole
reply, and since the account reconciler reads tiers first, one odd listing blocked the account's
snapshots for good. Now a bad row drops its symbol's tiers (counted and logged with the symbol
and the reason) and every other symbol's tiers are kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from monitor.errors import ParseError
from monitor.records import Bracket, LeverageTiers

__all__ = ["TierReply", "ladder"]


@dataclass(slots=True)
class TierReply:
    tiers: list[LeverageTiers] = field(default_factory=list)
    rejected: list[tuple[str, ParseError]] = field(default_factory=list)  # (symbol, why)


def ladder(
    brackets: tuple[Bracket, ...], *, venue: str, account: str, symbol: str, ts_recv_ns: int
) -> LeverageTiers:
    """One symbol's tiers as a record, refused whole when empty, when a rate is outside [0, 1) or a
    tier ends where it starts: a wrong ladder must not price a leg."""
    if not brackets or any(not (0 <= b.mmr < 1) or b.cap <= b.floor for b in brackets):
        raise ParseError("out_of_range", f"tiers of {symbol}")
    return LeverageTiers(
        venue=venue,
        account=account,
        symbol=symbol,
        ts_event_ns=ts_recv_ns,
        ts_recv_ns=ts_recv_ns,
        brackets=brackets,
    )
