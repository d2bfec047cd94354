"""The venue's liquidation engine: close what has hit a 100 % margin ratio at the mark.

A cross account is liquidated as a whole (every cross position) once Σ MM ≥ cross margin balance;
an isolated position alone once its MM ≥ isolated wallet + UPnL. The close realizes PnL into the
wallet, then a clearance fee (the symbol's `liquidationFee` × notional) is taken, never more than
the margin that is left, so a wallet ends at 0 at worst (the insurance fund absorbs the rest).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from monitor.sim.binance.margin import account_risk, position_risk
from monitor.sim.book import Account, Position
from monitor.sim.brackets import Bracket
from monitor.sim.numfmt import q8

__all__ = ["Liquidation", "breached_positions", "close_at_mark"]


@dataclass(frozen=True, slots=True)
class Liquidation:
    account: str
    symbol: str
    side: str
    qty: float  # signed size that was closed
    price: float
    time_ms: int
    realized_pnl: float
    fee: float
    margin_mode: str


def breached_positions(
    account: Account, marks: Mapping[str, float], brackets: Mapping[str, Sequence[Bracket]]
) -> list[Position]:
    out: list[Position] = []
    cross = [p for p in account.positions if p.margin_mode == "cross"]
    if cross and account_risk(account.cross_wallet, cross, marks, brackets).cross_margin_ratio >= 1.0:
        out += cross
    for p in account.positions:
        if (
            p.margin_mode == "isolated"
            and position_risk(p, marks[p.symbol], brackets[p.symbol]).isolated_ratio >= 1.0
        ):
            out.append(p)
    return out


def close_at_mark(account: Account, pos: Position, mark: float, fee_rate: float, now_ms: int) -> Liquidation:
    """Remove `pos` from `account` at `mark`, settling PnL and the clearance fee."""
    realized = q8(pos.qty * (mark - pos.entry))
    fee_due = abs(pos.qty) * mark * fee_rate
    if pos.margin_mode == "cross":
        left = account.cross_wallet + realized
        fee = q8(min(fee_due, max(0.0, left)))
        account.cross_wallet = q8(max(0.0, left - fee))
    else:
        left = pos.isolated_wallet + realized
        fee = q8(min(fee_due, max(0.0, left)))
        account.cross_wallet = q8(account.cross_wallet + max(0.0, left - fee))
    account.positions.remove(pos)
    account.update_ms = now_ms
    return Liquidation(
        account.name, pos.symbol, pos.side, pos.qty, mark, now_ms, realized, fee, pos.margin_mode
    )
