"""AccountBook: REST snapshot + delta-only user events = the complete account, exactly."""

from __future__ import annotations

import math

from monitor.collectors.account_book import AccountBook, AccountUpdate, BalanceChange, LegChange
from monitor.records import AccountSnapshot, Balance, Position

MS = 1_000_000

LONG = Position(
    symbol="BTCUSDT",
    side="BOTH",
    qty=1.0,
    entry_price=100.0,
    margin_mode="cross",
    venue_liquidation_price=50.0,
    venue_mark_price=101.0,
    venue_maint_margin=0.4,
)
ISO = Position(
    symbol="ETHUSDT",
    side="BOTH",
    qty=-2.0,
    entry_price=10.0,
    margin_mode="isolated",
    isolated_wallet=5.0,
    venue_liquidation_price=12.0,
)


def rest(ts_ms: int, *positions: Position, wallet: float = 1000.0) -> AccountSnapshot:
    return AccountSnapshot(
        venue="v",
        account="a",
        ts_event_ns=ts_ms * MS,
        ts_recv_ns=ts_ms * MS,
        positions=positions,
        balances=(Balance(asset="USDT", wallet_balance=wallet, cross_wallet_balance=wallet - 5.0),),
    )


def funding(ts_ms: int, wallet: float) -> AccountUpdate:
    return AccountUpdate(ts_ms, "FUNDING_FEE", (BalanceChange("USDT", wallet, wallet - 5.0),), ())


def leg(
    ts_ms: int, qty: float, entry: float = 100.0, symbol: str = "BTCUSDT", mode: str = "cross"
) -> AccountUpdate:
    change = LegChange(symbol, "BOTH", qty, entry, mode, 5.0 if mode == "isolated" else 0.0, 0.0)  # type: ignore[arg-type]
    return AccountUpdate(ts_ms, "ORDER", (), (change,))


def synced_book(*positions: Position) -> AccountBook:
    book = AccountBook("v", "a")
    epoch = book.stream_connected()
    book.reset(rest(1000, *positions), requested_ms=1000, epoch=epoch)
    assert book.synced
    return book


def test_funding_fee_changes_only_the_wallet_and_keeps_positions() -> None:
    """A FUNDING_FEE carries only balances: the legs stay, the wallet is replaced."""
    book = synced_book(LONG, ISO)
    snap = book.apply(funding(2000, 990.0), 2000 * MS)
    assert snap is not None
    assert [(p.symbol, p.qty) for p in snap.positions] == [("BTCUSDT", 1.0), ("ETHUSDT", -2.0)]
    assert [(b.wallet_balance, b.cross_wallet_balance) for b in snap.balances] == [(990.0, 985.0)]
    assert snap.ts_event_ns == 2000 * MS


def test_a_cross_change_drops_the_venue_figures_of_cross_legs_only() -> None:
    """The venue's LP described the old cross state; isolated legs keep theirs."""
    book = synced_book(LONG, ISO)
    snap = book.apply(funding(2000, 990.0), 2000 * MS)
    assert snap is not None
    btc, eth = snap.positions
    assert math.isnan(btc.venue_liquidation_price) and math.isnan(btc.venue_maint_margin)
    assert eth.venue_liquidation_price == 12.0


def test_an_unchanged_leg_keeps_the_venue_figures() -> None:
    """Replaying a delta the snapshot already holds changes nothing, not even the venue's LP."""
    book = synced_book(LONG)
    snap = book.apply(leg(2000, 1.0), 2000 * MS)
    assert snap is not None and snap.positions[0].venue_liquidation_price == 50.0


def test_a_zero_quantity_closes_the_leg_and_a_new_symbol_opens_one() -> None:
    """pa = 0 removes the leg; a leg not in the snapshot is added."""
    book = synced_book(LONG)
    book.apply(leg(2000, 0.5, 120.0, symbol="SOLUSDT"), 2000 * MS)
    snap = book.apply(leg(2001, 0.0), 2001 * MS)
    assert snap is not None
    assert [(p.symbol, p.qty, p.entry_price) for p in snap.positions] == [("SOLUSDT", 0.5, 120.0)]


def test_deltas_wait_for_a_snapshot_requested_after_the_connect() -> None:
    """Before the resync, events are kept but not published; a snapshot requested earlier does not sync."""
    book = AccountBook("v", "a")
    old_epoch = book.epoch
    book.stream_connected()
    assert book.apply(funding(2000, 990.0), 2000 * MS) is None
    book.reset(rest(1500), requested_ms=1500, epoch=old_epoch)
    assert not book.synced
    snap, _ = book.reset(rest(2500, wallet=990.0), requested_ms=2500, epoch=book.epoch)
    assert book.synced and snap.balances[0].wallet_balance == 990.0


def test_events_in_flight_during_the_request_are_replayed_onto_the_snapshot() -> None:
    """An event newer than the request is merged after the REST state replaces the book."""
    book = AccountBook("v", "a")
    epoch = book.stream_connected()
    book.apply(leg(1999, 3.0, 105.0), 1999 * MS)  # while REST was answering
    book.apply(leg(500, 9.0, 99.0), 500 * MS)  # long before the request: REST already has it
    snap, drift = book.reset(rest(2000, LONG), requested_ms=2000, epoch=epoch, margin_ms=100)
    assert [(p.qty, p.entry_price) for p in snap.positions] == [(3.0, 105.0)]
    assert drift is False


def test_events_from_before_a_gap_are_not_replayed() -> None:
    """A snapshot after a reconnect ignores the old connection's events: a gap may hide a later change."""
    book = AccountBook("v", "a")
    book.stream_connected()
    book.apply(leg(1999, 3.0, 105.0), 1999 * MS)
    book.stream_lost()
    epoch = book.stream_connected()
    snap, _ = book.reset(rest(2000, LONG), requested_ms=2000, epoch=epoch)
    assert [(p.qty, p.entry_price) for p in snap.positions] == [(1.0, 100.0)]


def test_reconcile_reports_drift_only_when_the_stream_picture_was_wrong() -> None:
    """A synced book that missed a change differs from REST: drift; an equal one does not."""
    book = synced_book(LONG)
    _, drift = book.reset(rest(3000, LONG), requested_ms=3000, epoch=book.epoch)
    assert drift is False
    _, drift = book.reset(rest(4000, LONG, wallet=900.0), requested_ms=4000, epoch=book.epoch)
    assert drift is True
