"""Stress stage: the §11 scenario table for the book in a Snapshot, as rows and as figures.

Why a stage of its own: the stress table is the same computation whether the desk asks for it
(`perpmon stress`, `perpmon what-if`) or Prometheus scrapes it, so all three read it from here.
The risk library revalues a `StressBook` per "venue" (one cross wallet); here a wallet is one
(venue, account), since each account margins on its own. A venue outage freezes every account
on that venue at once, which `Scenario.frozen_venue` (one index) cannot say, so outages are
run unfrozen and the frozen accounts are applied to the result here. Off-exchange holdings are
custody (spot venue −1): they count in equity, never as margin.

It is slow-cadence work (≈30 scenarios), so `StressStage` recomputes every `interval_s` (and
early when the book's shape changed) and re-emits the last figures in between, stamped with the
time they were computed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from monitor.clock import NS_PER_S
from monitor.evaluation.sink import FigureSink
from monitor.evaluation.stress_book import LegFlags, stress_book
from monitor.figure_columns import FigureColumn
from monitor.records import AccountSnapshot
from monitor.risk._num import FloatArray
from monitor.risk.stress import Scenario, StressBook, StressResult, run_scenario, standard_scenarios
from monitor.store.state import Snapshot

__all__ = [
    "StressRow",
    "StressStage",
    "StressTable",
    "stress_figures",
    "stress_table",
]

@dataclass(frozen=True, slots=True)
class StressRow:
    """One scenario for one account, for custody, or the total (`account` "" and venue "total")."""

    scenario: str
    venue: str
    account: str
    spot_pnl: float
    perp_pnl: float
    funding_pnl: float
    equity_after: float
    margin_ratio_after: float  # NaN for custody and total
    liquidated: float  # positions liquidated; NaN when a leg's margin is unknown (never a made-up 0)
    topup: float  # USD that would avoid it (cross + isolated)
    frozen: bool


@dataclass(frozen=True, slots=True)
class StressTable:
    rows: tuple[StressRow, ...]
    scenarios: tuple[str, ...]
    notes: tuple[str, ...]
    flags: Mapping[str, LegFlags] = field(default_factory=dict)  # see `BookIndex.flags`


def scenarios_for(venues: Sequence[str]) -> list[tuple[Scenario, str | None]]:
    """The §11 catalogue; each outage freezes one whole venue (all its accounts), named by venue."""
    out: list[tuple[Scenario, str | None]] = []
    for sc in standard_scenarios(0):
        out.append((sc, None))
        if sc.name.startswith("funding_cap_30d"):  # outages sit where the library puts them
            for v in venues:
                out.append((Scenario(name=f"outage_{v}"), v))
                out.append((Scenario(name=f"outage_{v}_price_-20%", price_shock=-0.20), v))
                out.append((Scenario(name=f"outage_{v}_price_+20%", price_shock=0.20), v))
    return out


def _run(book: StressBook, sc: Scenario) -> StressResult:
    if sc.funding_days == 0.0:  # an unknown cap cannot matter when no funding is pinned
        book = book._replace(perp_funding_cap=np.nan_to_num(book.perp_funding_cap, nan=0.0))
    return run_scenario(book, sc)


def _liquidated(book: StressBook, res: StressResult, n_accounts: int) -> tuple[FloatArray, float]:
    """Per account and in total; NaN where a leg's maintenance margin is unknown."""
    acct = book.perp_venue
    ok = (acct >= 0) & (acct < n_accounts)
    cross_unknown = np.isnan(res.margin_ratio_after[np.where(ok, acct, 0)])
    unknown = np.where(book.perp_isolated, np.isnan(res.isolated_topup), cross_unknown)
    count = np.bincount(acct[res.liquidated & ok], minlength=n_accounts).astype(np.float64)
    count[np.bincount(acct[unknown & ok], minlength=n_accounts) > 0] = math.nan
    return count, float(np.sum(count))


def stress_table(snap: Snapshot, entry_valued_venues: frozenset[str] = frozenset()) -> StressTable:
    """Every scenario, per account, custody and total."""
    book, idx = stress_book(snap, entry_valued_venues)
    venues = sorted({v for v, _ in idx.accounts})
    rows: list[StressRow] = []
    names: list[str] = []
    pos_acct = book.perp_venue
    for sc, frozen_venue in scenarios_for(venues):
        res = _run(book, sc)
        names.append(sc.name)
        frozen = np.array([v == frozen_venue for v, _ in idx.accounts], dtype=bool)
        liq, liq_total = _liquidated(book, res, len(idx.accounts))
        topup = res.topup + np.bincount(pos_acct, weights=res.isolated_topup, minlength=len(idx.accounts))
        for i, (venue, account) in enumerate(idx.accounts):
            rows.append(
                StressRow(sc.name, venue, account, float(res.spot_pnl[i]), float(res.perp_pnl[i]),
                          float(res.funding_pnl[i]), float(res.equity_after[i]),
                          float(res.margin_ratio_after[i]), float(liq[i]), float(topup[i]), bool(frozen[i]))
            )  # fmt: skip
        if idx.holdings:
            custody_equity = res.total_equity_after - float(np.sum(res.equity_after))
            rows.append(StressRow(sc.name, "custody", "", res.custody_spot_pnl, 0.0, 0.0, custody_equity,
                                  math.nan, 0.0, 0.0, False))  # fmt: skip
        usable = res.total_equity_after - float(np.sum(res.equity_after[frozen]))
        rows.append(
            StressRow(sc.name, "total", "", res.total_spot_pnl, res.total_perp_pnl, res.total_funding_pnl,
                      usable if frozen.any() else res.total_equity_after, math.nan,
                      liq_total, float(np.sum(topup)), bool(frozen.any()))
        )  # fmt: skip
    return StressTable(tuple(rows), tuple(names), idx.notes, idx.flags)


def _inputs_fresh(snap: Snapshot, fresh: Mapping[tuple[str, str], bool] | None) -> dict[str, bool]:
    """Per "venue/account" (and "total"): its account feed and the marks of its legs were fresh.

    A leg with no mark stream at all is revalued from the venue's mark, as fresh as the account
    feed that carried it (its figures' reason names it, `LegFlags`).
    """
    out: dict[str, bool] = {}
    for (venue, account), acct in snap.accounts.items():
        ok = fresh is None or (
            fresh.get((venue, f"account:{account}"), False)
            and all(
                fresh.get((venue, f"mark:{p.symbol}"), False)
                for p in acct.positions
                if (venue, p.symbol) in snap.marks
            )
        )
        out[f"{venue}/{account}"] = ok
    out["total"] = all(out.values())
    return out


def stress_figures(
    table: StressTable,
    sink: FigureSink,
    fresh: Mapping[str, bool] | None = None,
) -> None:
    """Per scenario and account (and `venue="total"`): equity, margin ratio, top-up, liquidations.

    A value's reason names the legs revalued from the venue's mark; a NaN's the legs it lacks.
    """
    for r in table.rows:
        lab = {"venue": r.venue, "account": r.account, "scenario": r.scenario}
        key = "total" if r.venue in ("custody", "total") else f"{r.venue}/{r.account}"
        ok = True if fresh is None else fresh.get(key, False)
        flags = table.flags.get(key, LegFlags())
        pnl = r.spot_pnl + r.perp_pnl + r.funding_pnl
        sink.add("stress_equity_after_usd", r.equity_after, lab, fresh=ok, reason=flags.of(r.equity_after))
        sink.add("stress_pnl_usd", pnl, lab, fresh=ok, reason=flags.of(pnl))
        if r.venue in ("custody", "total"):
            continue
        ratio, liq = r.margin_ratio_after, float(r.liquidated)
        sink.add("stress_margin_ratio_after", ratio, lab, fresh=ok, reason=flags.of(ratio))
        sink.add("stress_topup_usd", r.topup, lab, fresh=ok, reason=flags.of(r.topup))
        sink.add("stress_liquidated_positions", liq, lab, fresh=ok, reason=flags.of(liq))


_EARLY_GAP_S = 1.0  # an early recompute waits at least this long after the last one

_Legs = tuple[tuple[str, str, float, str], ...]


class _BookShape:
    """What a table was built from, short of prices and wallets: the legs and which inputs existed.

    A change means the last table no longer describes the book (an account arrived, a leg opened,
    tiers or a mark turned up, a feed came back): the table is then recomputed at once instead of
    after `interval_s`. Prices and wallets moving are not a change; the slow cadence follows them.
    Checked every tick, so it is cheap: an account's legs are re-read only when its (immutable)
    record was replaced, and inputs are counted (the store's maps only grow, except on a reload).
    """

    def __init__(self) -> None:
        self._legs: dict[tuple[str, str], tuple[AccountSnapshot, _Legs]] = {}

    def _account_legs(self, key: tuple[str, str], acct: AccountSnapshot) -> _Legs:
        hit = self._legs.get(key)
        if hit is not None and hit[0] is acct:
            return hit[1]
        legs = tuple((p.symbol, p.side, p.qty, p.margin_mode) for p in acct.positions if p.qty != 0)
        self._legs[key] = (acct, legs)
        return legs

    def of(self, snap: Snapshot, fresh: Mapping[tuple[str, str], bool] | None) -> tuple[object, ...]:
        for gone in self._legs.keys() - snap.accounts.keys():
            del self._legs[gone]
        legs = tuple((k, self._account_legs(k, a)) for k, a in snap.accounts.items())
        held = tuple((n, h.quantity) for n, h in snap.holdings.items())
        sizes = (len(snap.marks), len(snap.tiers), len(snap.funding), len(snap.quotes))
        return legs, held, sizes, tuple(fresh.values()) if fresh is not None else ()


class StressStage:
    """Recompute the stress figures every `interval_s`, and early when the book's shape changed.

    The first table is usually computed before any account has arrived (an empty table); waiting
    `interval_s` (60 s) for the next one left a new daemon, or a book that just gained a leg or
    its tiers, without stress figures for a minute. Early recomputes are at least
    `min(1 s, interval_s)` apart, so a book that changes every tick costs one table a second.
    """

    def __init__(self, interval_s: float, entry_valued_venues: frozenset[str] = frozenset()) -> None:
        self._interval_ns = int(interval_s * NS_PER_S)
        self._early_gap_ns = int(min(_EARLY_GAP_S, interval_s) * NS_PER_S)
        self._entry_valued = entry_valued_venues
        self._last_ns: int | None = None
        self._shape: tuple[object, ...] | None = None
        self._shapes = _BookShape()
        self._columns: dict[str, FigureColumn] = {}

    def run(
        self, snap: Snapshot, sink: FigureSink, fresh: Mapping[tuple[str, str], bool] | None = None
    ) -> None:
        now = sink.now_ns
        shape = self._shapes.of(snap, fresh)
        due = self._last_ns is None or now - self._last_ns >= self._interval_ns
        changed = (
            self._last_ns is not None and shape != self._shape and now - self._last_ns >= self._early_gap_ns
        )
        if due or changed:
            own = FigureSink(now)
            stress_figures(stress_table(snap, self._entry_valued), own, _inputs_fresh(snap, fresh))
            self._columns, self._last_ns, self._shape = own.columns(), now, shape
        sink.merge(self._columns)
