"""One account's complete state: the last REST snapshot with the user stream's deltas merged in.

The venue's user stream is delta-only: `ACCOUNT_UPDATE` carries just the balances and positions
that changed (a cross FUNDING_FEE carries a balance and no position at all). Its values are
absolute, so merging is a replace per asset and per leg, and replaying an event the snapshot
already reflects changes nothing. That makes resynchronising simple and exact:

* every event goes to a short journal, tagged with the connection it came on;
* a REST snapshot replaces the state, then the journal is replayed from just before the request
  was sent (events in flight while REST answered are not lost, and older ones are not re-applied)
  — only events of the connection that was up when the request went out, and only if it still
  is, since an event from before a gap could undo a change the gap hid;
* deltas are published only once a snapshot *requested after the stream connected* has been
  applied (`synced`): before that, an event gap during the reconnect could hide a change.

The venue's own figures on a leg (its liquidation price, mark, maintenance margin) belong to the
state REST computed them on. A delta that changes that state drops them (NaN) until the next
snapshot, so perpmon never compares its liquidation price with one for another state. For cross
legs, any change of the cross wallet or of another cross leg counts.

Sans-I/O: no clock, no socket; the caller passes times in.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

from monitor.records import AccountSnapshot, Balance, MarginMode, Position, PositionSide

__all__ = ["AccountBook", "AccountUpdate", "BalanceChange", "LegChange"]

JOURNAL_EVENTS = 4096
NS_PER_MS = 1_000_000


@dataclass(frozen=True, slots=True)
class BalanceChange:
    asset: str
    wallet: float  # `wb`
    cross_wallet: float  # `cw`


@dataclass(frozen=True, slots=True)
class LegChange:
    symbol: str
    side: PositionSide
    qty: float  # signed; 0 closes the leg
    entry: float
    margin_mode: MarginMode
    isolated_wallet: float
    unrealized_pnl: float


@dataclass(frozen=True, slots=True)
class AccountUpdate:
    event_ms: int
    reason: str  # ORDER, FUNDING_FEE, DEPOSIT …
    balances: tuple[BalanceChange, ...]
    legs: tuple[LegChange, ...]


def _stripped(p: Position) -> Position:
    """The leg without the venue's figures, which described an earlier state."""
    if math.isnan(p.venue_liquidation_price) and math.isnan(p.venue_maint_margin):
        return p
    return Position(
        symbol=p.symbol,
        side=p.side,
        qty=p.qty,
        entry_price=p.entry_price,
        margin_mode=p.margin_mode,
        isolated_wallet=p.isolated_wallet,
        leverage=p.leverage,
        contract_size=p.contract_size,
        inverse=p.inverse,
        margin_asset=p.margin_asset,
        venue_unrealized_pnl=p.venue_unrealized_pnl,
    )


def _essence(
    positions: dict[tuple[str, str], Position], balances: dict[str, Balance]
) -> tuple[object, object]:
    legs = {k: (p.qty, p.entry_price, p.margin_mode, p.isolated_wallet) for k, p in positions.items()}
    cash = {a: (b.wallet_balance, b.cross_wallet_balance) for a, b in balances.items()}
    return legs, cash


class AccountBook:
    def __init__(self, venue: str, account: str) -> None:
        self.venue = venue
        self.account = account
        self._positions: dict[tuple[str, str], Position] = {}
        self._balances: dict[str, Balance] = {}
        self._journal: deque[tuple[int, AccountUpdate]] = deque(maxlen=JOURNAL_EVENTS)
        self._has_base = False
        self._stream_epoch = 0  # bumped at every stream (re)connect
        self._synced_epoch = -1
        self.last_event_ms = 0

    # ---------------------------------------------------------------- stream side
    def stream_connected(self) -> int:
        """A new user-stream connection: deltas wait for a snapshot requested after this point."""
        self._stream_epoch += 1
        return self._stream_epoch

    def stream_lost(self) -> None:
        self._stream_epoch += 1  # nothing requested before the next connect can sync it

    @property
    def synced(self) -> bool:
        return self._synced_epoch == self._stream_epoch and self._has_base

    @property
    def epoch(self) -> int:
        """Pass this to `reset` with a snapshot requested now; it syncs only if still current."""
        return self._stream_epoch

    def apply(self, upd: AccountUpdate, ts_recv_ns: int) -> AccountSnapshot | None:
        """Journal an event; merge it and return the new complete state once synced."""
        self._journal.append((self._stream_epoch, upd))
        self.last_event_ms = max(self.last_event_ms, upd.event_ms)
        if not self.synced:
            return None
        self._merge(upd)
        return self._snapshot(upd.event_ms * NS_PER_MS, ts_recv_ns)

    # ---------------------------------------------------------------- REST side
    def reset(
        self, rest: AccountSnapshot, requested_ms: int, epoch: int, margin_ms: int = 2_000
    ) -> tuple[AccountSnapshot, bool]:
        """Take a REST snapshot requested at `requested_ms`; replay newer journal events.

        Returns the complete state and whether it differs from what the stream had built (drift:
        a missed or misapplied delta), which only means something while synced.
        """
        was_synced = self.synced
        before = _essence(self._positions, self._balances)
        self._positions = {(p.symbol, p.side): p for p in rest.positions if p.qty != 0}
        self._balances = {b.asset: b for b in rest.balances}
        self._has_base = True
        if epoch == self._stream_epoch:  # only this connection's events: no gap hides among them
            since = requested_ms - margin_ms  # our clock against the venue's: allow some skew
            for ep, upd in self._journal:
                if ep == epoch and upd.event_ms >= since:
                    self._merge(upd)
            self._synced_epoch = epoch
        drift = was_synced and before != _essence(self._positions, self._balances)
        return self._snapshot(rest.ts_event_ns, rest.ts_recv_ns), drift

    # ---------------------------------------------------------------- merging
    def _merge(self, upd: AccountUpdate) -> None:
        cross_changed = False
        for b in upd.balances:
            old = self._balances.get(b.asset)
            if old is not None and (old.wallet_balance, old.cross_wallet_balance) == (
                b.wallet,
                b.cross_wallet,
            ):
                continue
            self._balances[b.asset] = Balance(
                asset=b.asset, wallet_balance=b.wallet, cross_wallet_balance=b.cross_wallet
            )
            cross_changed = True
        for leg in upd.legs:
            cross_changed |= self._merge_leg(leg)
        if cross_changed:
            for key, p in self._positions.items():
                if p.margin_mode == "cross":
                    self._positions[key] = _stripped(p)

    def _merge_leg(self, leg: LegChange) -> bool:
        """Apply one leg; True when it changed the cross state."""
        key = (leg.symbol, leg.side)
        old = self._positions.get(key)
        if leg.qty == 0:
            gone = self._positions.pop(key, None)
            return gone is not None and gone.margin_mode == "cross"
        if old is not None and (old.qty, old.entry_price, old.margin_mode, old.isolated_wallet) == (
            leg.qty,
            leg.entry,
            leg.margin_mode,
            leg.isolated_wallet,
        ):
            return False
        self._positions[key] = Position(
            symbol=leg.symbol,
            side=leg.side,
            qty=leg.qty,
            entry_price=leg.entry,
            margin_mode=leg.margin_mode,
            isolated_wallet=leg.isolated_wallet,
            leverage=old.leverage if old is not None else math.nan,
            # what a delta does not carry (a COIN-M leg's contract size and coin) stays the snapshot's
            contract_size=old.contract_size if old is not None else 1.0,
            inverse=old.inverse if old is not None else False,
            margin_asset=old.margin_asset if old is not None else "",
            venue_unrealized_pnl=leg.unrealized_pnl,
        )
        return leg.margin_mode == "cross" or (old is not None and old.margin_mode == "cross")

    def _snapshot(self, ts_event_ns: int, ts_recv_ns: int) -> AccountSnapshot:
        return AccountSnapshot(
            venue=self.venue,
            account=self.account,
            ts_event_ns=ts_event_ns,
            ts_recv_ns=ts_recv_ns,
            positions=tuple(self._positions.values()),
            balances=tuple(self._balances.values()),
        )
