"""The store's size is set by the config (symbols, accounts, history_points), never by uptime."""

from __future__ import annotations

from monitor.records import AccountSnapshot, Balance, MarkPrice, Position
from monitor.store.state import StateStore

S = 1_000_000_000
CAP = 64


def mark(symbol: str, ts_s: int, price: float) -> MarkPrice:
    return MarkPrice(
        venue="v", symbol=symbol, ts_event_ns=ts_s * S, ts_recv_ns=ts_s * S, mark=price, index=price
    )


def test_each_grid_holds_history_points_however_long_it_runs() -> None:
    """10 × capacity bars per symbol: each grid keeps exactly the newest `history_points`, in order."""
    st = StateStore(grid_step_s=1.0, history_points=CAP)
    for t in range(10 * CAP):
        for i, sym in enumerate(("BTCUSDT", "ETHUSDT")):
            st.put(mark(sym, t, 100.0 * (i + 1) + t))
    grids = st.snapshot(10 * CAP * S).mark_grid
    assert set(grids) == {("v", "BTCUSDT"), ("v", "ETHUSDT")}
    ts, v = grids[("v", "BTCUSDT")]
    assert len(ts) == CAP and (ts // S).tolist() == list(range(9 * CAP, 10 * CAP))
    assert v[-1] == 100.0 + 10 * CAP - 1


def test_a_gap_longer_than_the_history_is_filled_within_the_ring() -> None:
    """A week of silence on a 1 s grid: the ring is filled with the carried value, never beyond it."""
    st = StateStore(grid_step_s=1.0, history_points=CAP)
    st.put(mark("BTCUSDT", 0, 100.0))
    st.put(mark("BTCUSDT", 7 * 86_400, 90.0))
    ts, v = st.snapshot(7 * 86_400 * S).mark_grid[("v", "BTCUSDT")]
    assert len(ts) == CAP and v.tolist() == [100.0] * (CAP - 1) + [90.0]
    assert (ts // S).tolist() == list(range(7 * 86_400 - CAP + 1, 7 * 86_400 + 1))


def test_vanished_positions_are_remembered_up_to_a_bound() -> None:
    """Thousands of legs opened and closed: the newest 256 vanished legs are kept, the oldest dropped."""
    st = StateStore()
    bal = (Balance(asset="USDT", wallet_balance=1.0),)

    def snap(t: int, *legs: Position) -> AccountSnapshot:
        return AccountSnapshot(
            venue="v", account="a", ts_event_ns=t, ts_recv_ns=t, positions=legs, balances=bal
        )

    for n in range(2_000):
        leg = Position(symbol=f"S{n}USDT", side="BOTH", qty=1.0, entry_price=1.0, margin_mode="cross")
        st.put(snap(2 * n + 1, leg))
        st.put(snap(2 * n + 2))
    gone = st.snapshot(5_000).gone
    assert len(gone) == 256
    assert ("v", "a", "S1999USDT", "BOTH") in gone and ("v", "a", "S0USDT", "BOTH") not in gone
