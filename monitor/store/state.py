"""The state store: the collectors' sink and the evaluator's source.

Collectors call `put(record)` (sync, O(1)); the evaluator asks for one immutable `Snapshot` per
tick and never sees the mutable store. Prices are also sampled onto a regular grid (last value in
each bucket, carried forward over gaps) because volatility needs returns on a fixed step, never
tick to tick: marks, and spot mids on the same buckets so the basis has a history (OU fit, VaR).

Settled funding comes from the venue's history when a collector fetched it (`SettledFunding`);
until then, and for settlements newer than the last fetch, the store keeps the last running
estimate seen before each settlement time passed (the venue's estimate converges on the settled
rate as the interval closes). `funding_settled_estimated` says which the newest figure is.

Price ticks (`Instrument`, from the venues' instrument metadata) are not part of a snapshot: no
figure depends on them. `ticks()` hands the words-for-people stages (alert context, status page)
one read-only mapping, the same object until a tick changes.

History fetched at start-up or after a gap (`BarHistory`) is merged into the grids: it fills
buckets before the first live one and buckets a gap forward-filled, never a bucket a live frame
set, and it is never "hearing" the stream, so it cannot make a silent feed look fresh.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

import numpy as np

from monitor.clock import NS_PER_S
from monitor.records import (
    AccountSnapshot,
    BarHistory,
    BookLevels,
    FeedStatus,
    Fill,
    FundingInfo,
    Holding,
    Instrument,
    LeverageTiers,
    MarginCall,
    MarkPrice,
    Quote,
    Record,
    SettledFunding,
)
from monitor.store.books import BookLog
from monitor.store.feeds import FeedLog, FeedView
from monitor.store.grid import GridSeries
from monitor.store.grid_bars import BarsLog
from monitor.store.marks import MarkLog
from monitor.store.ring import RingBuffer
from monitor.store.snapshot import GonePosition, Grid, Snapshot

__all__ = ["FeedView", "GonePosition", "Grid", "Snapshot", "StateStore"]

_RECORD_TYPES = (
    MarkPrice, Quote, BookLevels, AccountSnapshot, FundingInfo, LeverageTiers, Holding, FeedStatus, Fill,
    MarginCall, BarHistory, SettledFunding,
)  # fmt: skip
# each snapshot field, and the records whose put can change it
_DEPENDS: dict[str, tuple[type, ...]] = {
    "marks": (MarkPrice,),
    "quotes": (Quote,),
    "funding": (FundingInfo,),
    "tiers": (LeverageTiers,),
    "accounts": (AccountSnapshot,),
    "holdings": (Holding,),
    "gone": (AccountSnapshot, Fill),
    "feeds": (MarkPrice, Quote, BookLevels, AccountSnapshot, FeedStatus),
    "margin_calls": (MarginCall,),
    "funding_settled": (MarkPrice, SettledFunding),  # and funding_settled_estimated with it
    "books": (BookLevels,),
}
_GONE_KEEP = 256
_SETTLEMENTS_KEEP = 512  # per symbol: 170 days of 8-hour settlements
FILL_MEMORY_S = 120.0  # a fill this recent explains why a position vanished
_GONE_REASONS = {"liquidation": "liquidated", "adl": "adl", "trade": "closed"}


class StateStore:
    """Implements the collectors' `RecordSink`; one instance per daemon."""

    def __init__(self, grid_step_s: float = 60.0, history_points: int = 4096) -> None:
        self._grid_step_ns = int(grid_step_s * NS_PER_S)
        self._history_points = history_points
        self._marks = MarkLog()  # the records, and their numbers as columns (monitor/store/marks.py)
        self._quotes: dict[tuple[str, str, str], Quote] = {}
        self._books = BookLog()  # the records, and their levels as arrays (monitor/store/books.py)
        self._funding: dict[tuple[str, str], FundingInfo] = {}
        self._tiers: dict[tuple[str, str, str], LeverageTiers] = {}
        self._accounts: dict[tuple[str, str], AccountSnapshot] = {}
        self._holdings: dict[tuple[str, str], Holding] = {}  # (source, name): one namespace per source
        self._gone: OrderedDict[tuple[str, str, str, str], GonePosition] = OrderedDict()
        self._feeds = FeedLog()
        self._grids: dict[tuple[str, str], GridSeries] = {}
        self._bars = BarsLog()  # where each mark grid stands
        self._spot_grids: dict[tuple[str, str], GridSeries] = {}
        self._settled: dict[tuple[str, str], RingBuffer] = {}
        self._settled_venue: dict[tuple[str, str], RingBuffer] = {}
        self.backfilled_bars = 0  # grid buckets filled from fetched history
        self.dropped_history: dict[str, int] = {}  # history records refused, by reason
        self._fills: OrderedDict[tuple[str, str, str, str], Fill] = OrderedDict()
        self._margin_calls: dict[tuple[str, str], MarginCall] = {}
        self._instruments: dict[tuple[str, str, str], Instrument] = {}
        self._ticks: Mapping[tuple[str, str], float] | None = None  # ticks(), until one changes
        # what changed since the last snapshot (record types put); a snapshot rebuilds only those fields
        self._dirty: set[type] = set(_RECORD_TYPES)
        self._shared: dict[str, Mapping[Any, Any]] = {}  # the last snapshot's fields, read-only
        # told of every record put, after it landed: the evaluation loop's frame signal (monitor/frames.py)
        self.on_put: Callable[[Record], None] | None = None

    # ------------------------------------------------------------------ sink
    def put(self, record: Record) -> None:
        self._dirty.add(type(record))
        if isinstance(record, MarkPrice):
            self._settlement(self._marks.get((record.venue, record.symbol)), record)
            self._marks.put(record)
            grid = self._grid(record.venue, record.symbol)
            if grid.add(record.ts_event_ns, record.mark):
                self._bars.set((record.venue, record.symbol), *grid.bars())
            self._heard(record.venue, f"mark:{record.symbol}", record.ts_recv_ns, record.ts_event_ns)
        elif isinstance(record, Quote):
            self._quotes[(record.venue, record.symbol, record.market)] = record
            if record.market == "spot":
                self._grid(record.venue, record.symbol, self._spot_grids).add(
                    record.ts_event_ns, 0.5 * (record.bid + record.ask)
                )
            self._heard(
                record.venue, f"book:{record.market}:{record.symbol}", record.ts_recv_ns, record.ts_event_ns
            )
        elif isinstance(record, BookLevels):
            self._books.put(record)
            self._heard(
                record.venue, f"depth:{record.market}:{record.symbol}", record.ts_recv_ns, record.ts_event_ns
            )
        elif isinstance(record, AccountSnapshot):
            self._put_account(record)
            self._heard(record.venue, f"account:{record.account}", record.ts_recv_ns, record.ts_event_ns)
        elif isinstance(record, FundingInfo):
            self._funding[(record.venue, record.symbol)] = record
        elif isinstance(record, LeverageTiers):
            self._tiers[(record.venue, record.account, record.symbol)] = record
        elif isinstance(record, Holding):
            if record.cleared:  # a source clears only its own entry, never another source's
                self._holdings.pop((record.venue, record.name), None)
            else:
                self._holdings[(record.venue, record.name)] = record
        elif isinstance(record, FeedStatus):
            self._put_status(record)
        elif isinstance(record, Fill):
            self._put_fill(record)
        elif isinstance(record, MarginCall):
            self._margin_calls[(record.venue, record.account)] = record
        elif isinstance(record, BarHistory):
            self._put_bars(record)
        elif isinstance(record, SettledFunding):
            self._put_settled(record)
        elif isinstance(record, Instrument):
            self._put_instrument(record)
        if self.on_put is not None:
            self.on_put(record)

    def _put_instrument(self, inst: Instrument) -> None:
        key = (inst.venue, inst.symbol, inst.market)
        known = self._instruments.get(key)
        if known is None or known.tick != inst.tick:
            self._instruments[key] = inst
            self._ticks = None  # every reference refresh repeats the ticks: rebuilt only on a change

    def ticks(self) -> Mapping[tuple[str, str], float]:
        """(venue, symbol) → the symbol's price tick: the perpetual's, else its spot book's."""
        if self._ticks is None:
            out: dict[tuple[str, str], float] = {}
            for (venue, symbol, market), inst in sorted(self._instruments.items()):
                if market == "perp" or (venue, symbol) not in out:  # "perp" sorts after "spot"
                    out[(venue, symbol)] = inst.tick
            self._ticks = MappingProxyType(out)
        return self._ticks

    def _refuse(self, reason: str) -> None:
        self.dropped_history[reason] = self.dropped_history.get(reason, 0) + 1

    def _put_bars(self, bars: BarHistory) -> None:
        if round(bars.interval_s * NS_PER_S) != self._grid_step_ns:
            self._refuse("interval_not_grid_step")  # a 1 m close is not a 5 s bucket's last value
            return
        if len(bars.opens_ns) != len(bars.closes):
            self._refuse("ragged")
            return
        grids = self._grids if bars.series == "mark" else self._spot_grids
        grid = self._grid(bars.venue, bars.symbol, grids)
        taken = grid.backfill(bars.opens_ns, bars.closes)
        self.backfilled_bars += taken
        if taken and bars.series == "mark":
            self._bars.set((bars.venue, bars.symbol), *grid.bars())

    def _put_settled(self, rec: SettledFunding) -> None:
        if len(rec.times_ns) != len(rec.rates):
            self._refuse("ragged")
            return
        key = (rec.venue, rec.symbol)
        ring = self._settled_venue.get(key)
        known: dict[int, float] = {}
        if ring is not None:
            ts, rates = ring.window()
            known = {int(t): float(r) for t, r in zip(ts, rates, strict=True)}
        known.update(zip(rec.times_ns, rec.rates, strict=True))
        ring = self._settled_venue[key] = RingBuffer(_SETTLEMENTS_KEEP)
        for t in sorted(known)[-_SETTLEMENTS_KEEP:]:
            ring.append(t, known[t])

    def _settled_now(self) -> tuple[dict[tuple[str, str], Grid], dict[tuple[str, str], bool]]:
        """The venue's settlements, then the store's estimates for any settlement after its last."""
        out: dict[tuple[str, str], Grid] = {}
        estimated: dict[tuple[str, str], bool] = {}
        for key in self._settled.keys() | self._settled_venue.keys():
            est = self._settled[key].window() if key in self._settled else None
            venue = self._settled_venue[key].window() if key in self._settled_venue else None
            if venue is None or venue[0].size == 0:
                assert est is not None
                out[key], estimated[key] = est, True
                continue
            if est is None:
                out[key], estimated[key] = venue, False
                continue
            later = est[0] > venue[0][-1]
            ts = np.concatenate([venue[0], est[0][later]])[-_SETTLEMENTS_KEEP:]
            rates = np.concatenate([venue[1], est[1][later]])[-_SETTLEMENTS_KEEP:]
            ts.flags.writeable = rates.flags.writeable = False
            out[key], estimated[key] = (ts, rates), bool(later.any())
        return out, estimated

    def _grid(
        self, venue: str, symbol: str, grids: dict[tuple[str, str], GridSeries] | None = None
    ) -> GridSeries:
        grids = self._grids if grids is None else grids
        key = (venue, symbol)
        g = grids.get(key)
        if g is None:
            g = grids[key] = GridSeries(self._grid_step_ns, self._history_points)
        return g

    def _settlement(self, before: MarkPrice | None, now: MarkPrice) -> None:
        """A settlement passed when the next funding time moved on and the old one is behind us."""
        if before is None or before.next_funding_ns <= 0 or now.next_funding_ns <= before.next_funding_ns:
            return
        if now.ts_event_ns < before.next_funding_ns or not math.isfinite(before.funding_rate):
            return  # the interval changed, or there is no estimate to keep
        ring = self._settled.get((now.venue, now.symbol))
        if ring is None:
            ring = self._settled[(now.venue, now.symbol)] = RingBuffer(_SETTLEMENTS_KEEP)
        ring.append(before.next_funding_ns, before.funding_rate)

    def _heard(self, venue: str, stream: str, recv_ns: int, event_ns: int) -> None:
        self._feeds.heard((venue, stream), recv_ns, event_ns)  # the hot path: every market frame

    def _put_status(self, st: FeedStatus) -> None:
        self._feeds.status((st.venue, st.stream), st.state, st.reason)

    def _put_account(self, snap: AccountSnapshot) -> None:
        key = (snap.venue, snap.account)
        before = self._accounts.get(key)
        self._accounts[key] = snap
        now_keys = {(p.symbol, p.side) for p in snap.positions if p.qty != 0}
        for p in snap.positions:
            self._gone.pop((snap.venue, snap.account, p.symbol, p.side), None)
        if before is None:
            return
        for p in before.positions:
            if p.qty != 0 and (p.symbol, p.side) not in now_keys:
                gkey = (snap.venue, snap.account, p.symbol, p.side)
                reason, price = self._why_gone(gkey, before.ts_recv_ns, snap.ts_recv_ns)
                self._gone[gkey] = GonePosition(snap.venue, snap.account, p, snap.ts_recv_ns, reason, price)
                while len(self._gone) > _GONE_KEEP:
                    self._gone.popitem(last=False)

    def _why_gone(self, key: tuple[str, str, str, str], listed_ns: int, now_ns: int) -> tuple[str, float]:
        """The last fill since the leg was last listed explains its disappearance."""
        fill = self._fills.get(key)
        if fill is None or fill.ts_recv_ns < listed_ns or now_ns - fill.ts_recv_ns > FILL_MEMORY_S * NS_PER_S:
            return "unknown", math.nan
        return _GONE_REASONS[fill.kind], fill.price

    def _put_fill(self, fill: Fill) -> None:
        key = (fill.venue, fill.account, fill.symbol, fill.side)
        self._fills[key] = fill
        self._fills.move_to_end(key)
        while len(self._fills) > _GONE_KEEP:
            self._fills.popitem(last=False)
        gone = self._gone.get(key)  # the fill can trail the ACCOUNT_UPDATE that removed the leg
        forced = fill.kind != "trade" or (gone is not None and gone.reason == "unknown")
        if gone is not None and forced and fill.ts_recv_ns - gone.gone_at_ns <= FILL_MEMORY_S * NS_PER_S:
            self._gone[key] = GonePosition(
                gone.venue, gone.account, gone.position, gone.gone_at_ns, _GONE_REASONS[fill.kind], fill.price
            )

    def forget(self, venue: str, account: str) -> None:
        """Drop everything held for one account (a config reload stopped watching it).

        Without this the evaluator would keep computing the account from its last snapshot and
        its feed would turn stale forever: a frozen book reported as live. Call it after the
        account's collector has stopped, so nothing puts the account back.
        """
        self._dirty.update(_RECORD_TYPES)
        self._accounts.pop((venue, account), None)
        self._margin_calls.pop((venue, account), None)
        self._feeds.forget((venue, f"account:{account}"))
        for key in [k for k in self._tiers if k[:2] == (venue, account)]:
            del self._tiers[key]
        for keyed in (self._gone, self._fills):
            for gkey in [k for k in keyed if k[:2] == (venue, account)]:
                del keyed[gkey]

    def _holdings_by_name(self) -> dict[str, Holding]:
        """The book's holdings by name; config.toml wins a name that a pushed holding also uses.

        The MQTT collector refuses such names, so a tie only arises when a reload declares a name
        that was pushed before: the declared holding counts, never both.
        """
        out = {name: h for (source, name), h in self._holdings.items() if source == "config"}
        for (_source, name), h in sorted(self._holdings.items()):
            out.setdefault(name, h)
        return out

    # ------------------------------------------------------------------ source
    def snapshot(self, now_ns: int) -> Snapshot:
        """The store as of now, immutable: what changed since the last snapshot is copied, nothing else.

        A field whose records were not put since the last snapshot is that snapshot's read-only
        mapping again (the store never writes into it: it is a copy), and the price histories are
        read-only views of the rings (monitor/store/ring.py), which never change under their holder.
        At 600 symbols copying every dict and every 4,096-point window took ~40 ms a tick.
        """
        dirty, self._dirty = self._dirty, set()
        shared = self._shared
        for name, kinds in _DEPENDS.items():
            if name in shared and dirty.isdisjoint(kinds):
                continue
            if name == "funding_settled":
                settled, estimated = self._settled_now()
                shared[name] = MappingProxyType(settled)
                shared["funding_settled_estimated"] = MappingProxyType(estimated)
            else:
                shared[name] = self._copy(name)
        # the grids' mappings are never kept here: a view the store held would make every write to
        # its ring copy the ring (monitor/store/ring.py); unchanged rings hand out the same views
        mark_grid = MappingProxyType({k: g.ring.window() for k, g in self._grids.items()})
        spot_grid = MappingProxyType({k: g.ring.window() for k, g in self._spot_grids.items()})
        return Snapshot(
            taken_at_ns=now_ns,
            marks=shared["marks"],
            quotes=shared["quotes"],
            funding=shared["funding"],
            tiers=shared["tiers"],
            accounts=shared["accounts"],
            holdings=shared["holdings"],
            gone=shared["gone"],
            feeds=shared["feeds"],
            mark_grid=mark_grid,
            margin_calls=shared["margin_calls"],
            spot_grid=spot_grid,
            funding_settled=shared["funding_settled"],
            funding_settled_estimated=shared["funding_settled_estimated"],
            books=shared["books"],
            mark_grid_bars=self._bars.table(mark_grid),
        )

    def _copy(self, name: str) -> Mapping[Any, Any]:
        """A private copy of one snapshot field, built from the store's current state."""
        if name == "holdings":
            return MappingProxyType(self._holdings_by_name())
        if name == "feeds":
            return self._feeds.table()  # read-only already
        if name == "books":
            return self._books.table()  # read-only already
        if name == "marks":
            return self._marks.table()  # read-only already
        return MappingProxyType(dict(getattr(self, f"_{name}")))

    @property
    def history_bytes(self) -> int:
        grids = (*self._grids.values(), *self._spot_grids.values())
        settled = (*self._settled.values(), *self._settled_venue.values())
        return sum(g.ring.nbytes for g in grids) + sum(r.nbytes for r in settled)
