"""Book figures per asset across venues: net delta, hedge ratio, funding carry; positions that vanished.

The book is everything the desk owns: off-exchange holdings plus every perpetual on every
watched account of every venue. Holdings are valued at their named spot book; the perp legs at
their own venue's marks, and funding carry uses each venue's rate and interval for its legs.
The per-venue split (`venue_perp_quantity`, `venue_funding_carry_usd_per_day`) shows which venue
holds the hedge, which is what a venue outage takes away.

A position on a symbol the venue entry does not watch still counts in every quantity (net delta and
hedge ratio need no price); in USD it is valued at the venue's mark from the account payload, and
its funding is unknown, so the asset's carry is NaN: those figures' reasons name the leg.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from monitor.clock import NS_PER_S
from monitor.evaluation.exposure import stale_holdings
from monitor.evaluation.legs import venue_marks
from monitor.evaluation.market import MarketView
from monitor.evaluation.sink import FigureSink
from monitor.records import AccountSnapshot, Position
from monitor.risk._num import FloatArray, IntArray, quiet
from monitor.store.state import Snapshot

__all__ = ["StaleIndex", "book_figures", "gone_figures"]


def _base_asset(symbol: str) -> str:
    for quote in ("USDT", "USDC", "FDUSD", "BUSD", "USD"):
        if symbol.endswith(quote) and len(symbol) > len(quote):
            return symbol[: -len(quote)]
    return symbol


class StaleIndex:
    """Which venues' data is not fresh now, indexed once per tick by the asset it is about.

    A book figure of an asset is not fresh when, among the venues feeding it, a stream about the
    asset (its marks, its spot books) is not fresh; and when any venue's account feed is not fresh,
    since an account perpmon cannot see may hold any asset. Book levels feed only the cost to
    close, so a depth stream never counts. Built in one pass over the feeds: asking per asset and
    per (venue, asset) by rescanning every stream was quadratic in the symbols watched.
    """

    __slots__ = ("_accounts", "_by_asset")

    def __init__(self, fresh: Mapping[tuple[str, str], bool] | None) -> None:
        self._accounts: set[str] = set()
        self._by_asset: dict[str, set[str]] = defaultdict(set)
        for (venue, stream), ok in (fresh or {}).items():
            if ok or stream.startswith("depth:"):
                continue
            if stream.startswith("account:"):
                self._accounts.add(venue)
            else:
                self._by_asset[_base_asset(stream.rsplit(":", 1)[-1])].add(venue)

    def venues(self, venues: set[str], asset: str) -> set[str]:
        """Venues among `venues` whose data about `asset` is stale, and every venue with a stale account."""
        about = self._by_asset.get(asset)
        return self._accounts | (about & venues) if about else set(self._accounts)


@dataclass(frozen=True, slots=True)
class _Legs:
    """Every position of every account as columns, with what only changes with the account records."""

    held: tuple[AccountSnapshot, ...]  # the records these were built from (compared by identity)
    names: tuple[tuple[str, str], ...]
    positions: tuple[Position, ...]
    who: tuple[str, ...]  # "venue/account" per leg
    mkeys: tuple[tuple[str, str], ...]  # (venue, symbol) per leg
    assets: tuple[str, ...]  # the legs' assets, sorted
    asset_of: IntArray
    pairs: tuple[tuple[str, str], ...]  # (venue, asset), sorted
    pair_of: IntArray
    qc: FloatArray  # qty·contract size
    q: FloatArray
    vmark: FloatArray  # the venue's mark from the account payload (`legs.mark_upnl` without a live one)
    feeders: dict[str, set[str]]  # asset → venues holding a leg on it


class _Cache:
    last: ClassVar[_Legs | None] = None


_ASSETS: dict[str, str] = {}  # symbol → base asset, as `_base_asset` names it


def _legs(snap: Snapshot) -> _Legs:
    accounts = list(snap.accounts.items())
    names = tuple(k for k, _ in accounts)
    old = _Cache.last
    if (
        old is not None
        and old.names == names
        and all(x is y for x, (_, y) in zip(old.held, accounts, strict=True))
    ):
        return old
    ps: list[Position] = []
    who, mkeys, leg_assets, leg_pairs = [], [], [], []
    feeders: dict[str, set[str]] = defaultdict(set)
    asset_of = _ASSETS
    for (venue, account), acct in accounts:
        for p in acct.positions:
            asset = asset_of.get(p.symbol)
            if asset is None:
                asset = asset_of[p.symbol] = _base_asset(p.symbol)
            feeders[asset].add(venue)
            ps.append(p)
            who.append(f"{venue}/{account}")
            mkeys.append((venue, p.symbol))
            leg_assets.append(asset)
            leg_pairs.append((venue, asset))
    assets = sorted(set(leg_assets))
    pairs = sorted(set(leg_pairs))
    a_idx = {a: i for i, a in enumerate(assets)}
    p_idx = {x: i for i, x in enumerate(pairs)}
    _Cache.last = _Legs(
        held=tuple(a for _, a in accounts),
        names=names,
        positions=tuple(ps),
        who=tuple(who),
        mkeys=tuple(mkeys),
        assets=tuple(assets),
        asset_of=np.array([a_idx[a] for a in leg_assets], dtype=np.intp),
        pairs=tuple(pairs),
        pair_of=np.array([p_idx[x] for x in leg_pairs], dtype=np.intp),
        qc=np.array([p.qty * p.contract_size for p in ps], dtype=np.float64),
        q=np.array([p.qty for p in ps], dtype=np.float64),
        vmark=venue_marks(ps),
        feeders=dict(feeders),
    )
    return _Cache.last


def book_figures(
    snap: Snapshot,
    markets: dict[tuple[str, str], MarketView],
    sink: FigureSink,
    fresh: Mapping[tuple[str, str], bool] | None = None,
) -> None:
    """Per asset across every venue; `fresh` (feed freshness) flags a book some venue no longer feeds.

    A book figure built while one venue is silent mixes live legs with frozen ones: it is still
    emitted (the desk needs the last picture) but `fresh=False`, and `book_partial` says so with
    the stale venues as its reason, so a rule or a dashboard can tell "hedged" from "hedged, as far
    as the venues still talking can say".

    The legs' sums per asset and per (venue, asset) are columns summed in the accounts' order (the
    per-leg code they replaced is tests/unit/evaluation/reference/book_rows.py).
    """
    held: dict[str, float] = defaultdict(float)
    held_usd: dict[str, float] = defaultdict(float)
    feeders: dict[str, set[str]] = defaultdict(set)  # asset → venues whose data it uses
    old_held = stale_holdings(snap)
    for h in snap.holdings.values():
        quote = snap.quotes.get((h.price_venue, h.price_symbol, "spot"))
        mid = 0.5 * (quote.bid + quote.ask) if quote is not None else math.nan
        held[h.asset] += h.quantity
        held_usd[h.asset] += h.quantity * mid
        feeders[h.asset].add(h.price_venue)
    lg = _legs(snap)
    for asset, venues in lg.feeders.items():
        feeders[asset] |= venues
    views = [markets.get(k) for k in lg.mkeys]
    nan = math.nan
    watched = np.array([v is not None for v in views], dtype=bool)
    live = np.array([v.mark if v is not None else nan for v in views], dtype=np.float64)
    rate = np.array([v.funding_rate if v is not None else nan for v in views], dtype=np.float64)
    hours = np.array([v.funding_interval_h if v is not None else nan for v in views], dtype=np.float64)
    stale_mark = np.array([v is not None and not v.mark_fresh for v in views], dtype=bool)
    n_a, n_p = len(lg.assets), len(lg.pairs)
    with quiet():
        mark = np.where(watched, live, lg.vmark)
        c = np.where(watched, -lg.q * mark * rate * 24.0 / hours, nan)
        perp_l = np.bincount(lg.asset_of, weights=lg.qc, minlength=n_a).tolist()
        perp_usd_l = np.bincount(lg.asset_of, weights=lg.qc * mark, minlength=n_a).tolist()
        carry_l = np.bincount(lg.asset_of, weights=c, minlength=n_a).tolist()
        by_venue = np.bincount(lg.pair_of, weights=lg.qc, minlength=n_p).tolist()
        carry_by_venue = np.bincount(lg.pair_of, weights=c, minlength=n_p).tolist()
    marks_bad = np.bincount(lg.asset_of, weights=stale_mark, minlength=n_a) > 0
    pair_bad = (np.bincount(lg.pair_of, weights=stale_mark | ~watched, minlength=n_p) > 0).tolist()
    perp = dict(zip(lg.assets, perp_l, strict=True))
    perp_usd = dict(zip(lg.assets, perp_usd_l, strict=True))
    carry = dict(zip(lg.assets, carry_l, strict=True))
    marks_ok = dict(zip(lg.assets, (~marks_bad).tolist(), strict=True))
    unwatched: dict[str, list[str]] = defaultdict(list)  # asset → legs without a live mark, named
    for j in np.flatnonzero(~watched).tolist():
        p = lg.positions[j]
        src = "valued at the venue's mark" if lg.vmark[j] > 0 else "no mark, live or from the venue"
        unwatched[_base_asset(p.symbol)].append(f"{lg.who[j]} {p.symbol} ({src}, no funding rate)")
    stale_index = StaleIndex(fresh)
    cols: dict[str, tuple[list[dict[str, str]], list[float], list[bool], list[str]]] = {
        name: ([], [], [], []) for name in _ASSET_FIGURES
    }

    def add(name: str, value: float, lab: dict[str, str], ok: bool, why: str) -> None:
        col = cols[name]
        col[0].append(lab)
        col[1].append(value)
        col[2].append(ok)
        col[3].append(why)

    for asset in sorted(set(held) | set(perp)):
        lab = {"asset": asset}
        stale = stale_index.venues(feeders[asset], asset)
        held_ok = asset not in old_held
        old = "" if held_ok else f"holding not updated within max_age_s: {', '.join(old_held[asset])}"
        legs_ok = marks_ok.get(asset, True) and not stale  # the carry uses no holding: only this applies
        legs_why = f"stale: {', '.join(sorted(stale))}" if stale else ""
        ok = legs_ok and held_ok
        why = "; ".join(r for r in (legs_why, old) if r)
        legs = ", ".join(unwatched[asset])
        hq = held[asset]
        usd = held_usd[asset] + perp_usd.get(asset, 0.0)
        partial = _joined(_legs_reason(usd, legs), why or ("" if ok else "stale mark"))
        add("book_partial", 0.0 if ok and not legs else 1.0, lab, ok, partial)
        add("net_delta", hq + perp.get(asset, 0.0), lab, ok, why)
        add("net_delta_usd", usd, lab, ok, _joined(_legs_reason(usd, legs), why))
        add("holdings_quantity", hq, lab, held_ok, old)
        hr = -perp.get(asset, 0.0) / hq if hq > 0 else math.nan
        add("hedge_ratio", hr, lab, ok, why if hq > 0 else "no_holdings")
        c_a = carry.get(asset, 0.0)
        add("funding_carry_usd_per_day", c_a, lab, legs_ok, _joined(_legs_reason(c_a, legs), legs_why))
    for k, (venue, asset) in enumerate(lg.pairs):
        lab = {"venue": venue, "asset": asset}
        venue_ok = venue not in stale_index.venues({venue}, asset) and not pair_bad[k]
        add("venue_perp_quantity", by_venue[k], lab, venue_ok, "")
        vc = carry_by_venue[k]
        legs = ", ".join(x for x in unwatched[asset] if x.startswith(f"{venue}/"))
        add("venue_funding_carry_usd_per_day", vc, lab, venue_ok, _legs_reason(vc, legs))
    for name, (labs, values, oks, whys) in cols.items():
        sink.add_many(name, labs, values, oks, whys)


_ASSET_FIGURES = (
    "book_partial",
    "net_delta",
    "net_delta_usd",
    "holdings_quantity",
    "hedge_ratio",
    "funding_carry_usd_per_day",
    "venue_perp_quantity",
    "venue_funding_carry_usd_per_day",
)


def _joined(*reasons: str) -> str:
    """Reasons joined, the leg that explains the rest first (its code is the one a label shows)."""
    return "; ".join(r for r in reasons if r)


def _legs_reason(value: float, legs: str) -> str:
    """A book figure with legs on symbols not watched: NaN names them, a value says it leans on them."""
    if not legs:
        return ""
    return f"leg_unpriced: {legs}" if math.isnan(value) else f"leg_from_venue: {legs}"


def gone_figures(snap: Snapshot, sink: FigureSink, retention_s: float) -> None:
    """A vanished position stays visible for `retention_s` so the rule can fire and the desk can look."""
    for (venue, account, symbol, side), g in snap.gone.items():
        if (snap.taken_at_ns - g.gone_at_ns) / NS_PER_S <= retention_s:
            sink.add("position_disappeared", 1.0, venue=venue, account=account, symbol=symbol, side=side)
