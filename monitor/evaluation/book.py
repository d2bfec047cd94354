"""Book figures per asset across venues: net delta, hedge ratio, funding carry; positions that vanished.

The book is everything the desk owns: off-exchange holdings plus every perpetual on every
watched account of every venue. Holdings are valued at their named spot book; the perp legs at
their own venue's marks, and funding carry uses each venue's rate and interval for its legs.
The per-venue split (`venue_perp_quantity`, `venue_funding_carry_usd_per_day`) shows which venue
holds the hedge, which is what a venue outage takes away.

A position on a symbol the venue entry does not watch still counts in every quantity (net delta and
hedge ratio need no price); in USD it is valued at the venue's mark from the account payload, and
its funding is unknown, so the asset's carry is NaN: those figures' reasons name the leg.

A leg's asset and quantity are `leg_exposure.account_exposures`: a coin-margined (inverse) leg
counts in its margin coin, with the coin it is margined with, and pays funding on its USD face.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import ClassVar

import numpy as np

from monitor.clock import NS_PER_S
from monitor.evaluation.book_stale import StaleIndex
from monitor.evaluation.book_stale import base_asset as _base_asset
from monitor.evaluation.exposure import stale_holdings
from monitor.evaluation.leg_exposure import account_exposures, leg_asset
from monitor.evaluation.legs import venue_marks
from monitor.evaluation.market import MarketColumns, MarketView, market_columns
from monitor.evaluation.sink import FigureSink
from monitor.records import AccountSnapshot, FigureKey, Position
from monitor.risk._num import BoolArray, FloatArray, IntArray, quiet
from monitor.store.state import Snapshot

__all__ = ["StaleIndex", "book_figures", "gone_figures"]


class _Legs:
    """Every position of every account as columns; what depends only on which legs there are is kept.

    `held` (the account records these were read from, compared by identity) and the quantities
    change with every account update; the legs' markets, assets and labels only when a leg comes
    or goes, so an update that moves quantities re-reads only the numbers.
    """

    __slots__ = (
        "asset_of", "assets", "face", "feeders", "held", "inv", "leg_assets", "mkeys", "names", "pair_of",
        "pairs", "positions", "q", "qc", "rows_of", "shape", "vmark", "who",
    )  # fmt: skip
    names: tuple[tuple[str, str], ...]
    held: tuple[AccountSnapshot, ...]
    positions: tuple[Position, ...]
    shape: tuple[tuple[tuple[str, str], ...], tuple[int, ...], tuple[str, ...]]
    who: tuple[str, ...]  # "venue/account" per leg
    mkeys: tuple[tuple[str, str], ...]  # (venue, symbol) per leg
    assets: tuple[str, ...]  # the legs' assets, sorted
    asset_of: IntArray
    pairs: tuple[tuple[str, str], ...]  # (venue, asset), sorted
    pair_of: IntArray
    feeders: dict[str, set[str]]  # asset → venues holding a leg on it
    rows_of: tuple[tuple[tuple[str, str], ...], IntArray] | None  # per markets' keys
    leg_assets: tuple[str, ...]  # per leg (`leg_exposure.leg_asset`)
    qc: FloatArray  # the leg's exposure in its coin (`leg_exposure.account_exposures`)
    q: FloatArray
    inv: BoolArray  # inverse legs: their funding is on their USD face value
    face: FloatArray  # qty·contract size: USD for an inverse leg
    vmark: FloatArray  # the venue's mark from the account payload (`legs.mark_upnl`)

    def __init__(self, accounts: list[tuple[tuple[str, str], AccountSnapshot]], old: _Legs | None) -> None:
        self.names = tuple(k for k, _ in accounts)
        self.held = tuple(a for _, a in accounts)
        ps = [p for _, a in accounts for p in a.positions]
        self.positions = tuple(ps)
        shape = (
            self.names,
            tuple(len(a.positions) for a in self.held),
            tuple(p.symbol if not p.inverse else f"{p.symbol}/{p.margin_asset}" for p in ps),
        )
        if old is not None and old.shape == shape:
            self.shape = old.shape
            kept = (
                "who",
                "mkeys",
                "leg_assets",
                "assets",
                "asset_of",
                "pairs",
                "pair_of",
                "feeders",
                "rows_of",
            )
            for name in kept:
                setattr(self, name, getattr(old, name))
        else:
            self.shape = shape
            self._structure(accounts)
        if (
            old is not None
            and self.shape is old.shape
            and all(a.positions is b.positions for a, b in zip(self.held, old.held, strict=True))
            and not old.inv.any()  # an inverse leg's exposure holds its coin wallet: balances count
        ):  # new account records with the very same legs (a balance update): the same numbers
            self.qc, self.q, self.vmark, self.inv, self.face = old.qc, old.q, old.vmark, old.inv, old.face
            return
        self.qc = np.array([x for a in self.held for _, x in account_exposures(a)], dtype=np.float64)
        self.q = np.array([p.qty for p in ps], dtype=np.float64)
        self.inv = np.array([p.inverse for p in ps], dtype=bool)
        self.face = np.array([p.qty * p.contract_size for p in ps], dtype=np.float64)
        self.vmark = venue_marks(ps)

    def _structure(self, accounts: list[tuple[tuple[str, str], AccountSnapshot]]) -> None:
        who, mkeys, leg_assets, leg_pairs = [], [], [], []
        feeders: dict[str, set[str]] = defaultdict(set)
        asset_of = _ASSETS
        for (venue, account), acct in accounts:
            for p in acct.positions:
                asset = asset_of.get(p.symbol) if not p.inverse else leg_asset(p)
                if asset is None:
                    asset = asset_of[p.symbol] = _base_asset(p.symbol)
                feeders[asset].add(venue)
                who.append(f"{venue}/{account}")
                mkeys.append((venue, p.symbol))
                leg_assets.append(asset)
                leg_pairs.append((venue, asset))
        assets = sorted(set(leg_assets))
        pairs = sorted(set(leg_pairs))
        a_idx = {a: i for i, a in enumerate(assets)}
        p_idx = {x: i for i, x in enumerate(pairs)}
        self.who = tuple(who)
        self.leg_assets = tuple(leg_assets)
        self.mkeys = tuple(mkeys)
        self.assets = tuple(assets)
        self.asset_of = np.array([a_idx[a] for a in leg_assets], dtype=np.intp)
        self.pairs = tuple(pairs)
        self.pair_of = np.array([p_idx[x] for x in leg_pairs], dtype=np.intp)
        self.feeders = dict(feeders)
        self.rows_of = None

    def market_rows(self, cols: MarketColumns) -> IntArray:
        """Each leg's row in the market columns, −1 where its symbol is not watched."""
        got = self.rows_of
        if got is None or got[0] is not cols.keys:
            index = cols.index
            rows = np.array([index.get(k, -1) for k in self.mkeys], dtype=np.intp)
            got = self.rows_of = (cols.keys, rows)
        return got[1]


class _Cache:
    last: ClassVar[_Legs | None] = None


_ASSETS: dict[str, str] = {}  # linear symbol → base asset, as `_base_asset` names it


def _legs(snap: Snapshot) -> _Legs:
    accounts = list(snap.accounts.items())
    old = _Cache.last
    if (
        old is not None
        and len(old.held) == len(accounts)
        and all(x is y for x, (_, y) in zip(old.held, accounts, strict=True))
        and old.names == tuple(k for k, _ in accounts)
    ):
        return old
    _Cache.last = _Legs(accounts, old)
    return _Cache.last


class _AssetShape:
    """The figure keys of one set of assets and (venue, asset) pairs, kept while the set holds."""

    def __init__(
        self, assets: tuple[str, ...], pairs: tuple[tuple[str, str], ...], legs: tuple[str, ...]
    ) -> None:
        self.assets, self.pairs, self.legs = assets, pairs, legs
        self.held: tuple[str, ...] = ()  # the held assets it was made with, in the holdings' order
        at = {a: i for i, a in enumerate(assets)}
        self.index = at
        self.of_legs = np.array([at[a] for a in legs], dtype=np.intp)  # the legs' assets among all
        self.keys = {
            name: tuple(FigureKey(name=name, asset=a) for a in assets) for name in _ASSET_FIGURES[:6]
        }
        for name in _ASSET_FIGURES[6:]:
            self.keys[name] = tuple(FigureKey(name=name, venue=v, asset=a) for v, a in pairs)


_last_shape: list[_AssetShape] = []


def _asset_shape(held: Iterable[str], lg: _Legs) -> _AssetShape:
    """The shape of the legs' assets and the held ones, last tick's while both hold."""
    held = tuple(held)
    got = _last_shape[0] if _last_shape else None
    if got is None or got.pairs is not lg.pairs or got.legs is not lg.assets or got.held != held:
        got = _AssetShape(tuple(sorted(set(held) | set(lg.assets))), lg.pairs, lg.assets)
        got.held = held
        _last_shape[:] = [got]
    return got


def book_figures(
    snap: Snapshot,
    markets: Mapping[tuple[str, str], MarketView],
    sink: FigureSink,
    fresh: Mapping[tuple[str, str], bool] | None = None,
) -> None:
    """Per asset across every venue; `fresh` (feed freshness) flags a book some venue no longer feeds.

    A book figure built while one venue is silent mixes live legs with frozen ones: it is still
    emitted (the desk needs the last picture) but `fresh=False`, and `book_partial` says so with
    the stale venues as its reason, so a rule or a dashboard can tell "hedged" from "hedged, as far
    as the venues still talking can say".

    Every figure is a column over the assets (or the (venue, asset) pairs): the legs summed per
    asset in the accounts' order, the reasons written only for the assets that have one (a stale
    venue, an old holding, a leg on a symbol not watched). The per-leg code this replaced is
    tests/unit/evaluation/reference/book.py.
    """
    held: dict[str, float] = defaultdict(float)
    held_usd: dict[str, float] = defaultdict(float)
    held_by: dict[str, set[str]] = defaultdict(set)  # asset → venues pricing its holdings
    old_held = stale_holdings(snap)
    for h in snap.holdings.values():
        quote = snap.quotes.get((h.price_venue, h.price_symbol, "spot"))
        mid = 0.5 * (quote.bid + quote.ask) if quote is not None else math.nan
        held[h.asset] += h.quantity
        held_usd[h.asset] += h.quantity * mid
        held_by[h.asset].add(h.price_venue)
    lg = _legs(snap)
    sh = _asset_shape(held, lg)
    n, n_a, n_p = len(sh.assets), len(lg.assets), len(lg.pairs)
    cols = market_columns(markets)
    rows = lg.market_rows(cols)
    watched = rows >= 0
    nan = math.nan
    if len(cols.keys):
        at = np.where(watched, rows, 0)
        live = np.where(watched, cols.mark[at], nan)
        rate = np.where(watched, cols.funding_rate[at], nan)
        hours = np.where(watched, cols.funding_interval_h[at], nan)
        stale_mark = watched & ~cols.mark_fresh[at]
    else:
        live = rate = hours = np.full(len(rows), nan)
        stale_mark = np.zeros(len(rows), dtype=bool)
    with quiet():
        mark = np.where(watched, live, lg.vmark)
        # an inverse leg pays funding in coin on its coin value, face/mark: face × rate in USD
        c = np.where(watched, -np.where(lg.inv, lg.face, lg.q * mark) * rate * 24.0 / hours, nan)
        perp = np.zeros(n)
        perp_usd = np.zeros(n)
        carry = np.zeros(n)
        on = sh.of_legs
        perp[on] = np.bincount(lg.asset_of, weights=lg.qc, minlength=n_a)
        perp_usd[on] = np.bincount(lg.asset_of, weights=lg.qc * mark, minlength=n_a)
        carry[on] = np.bincount(lg.asset_of, weights=c, minlength=n_a)
        by_venue = np.bincount(lg.pair_of, weights=lg.qc, minlength=n_p)
        carry_by_venue = np.bincount(lg.pair_of, weights=c, minlength=n_p)
    marks_ok = np.ones(n, dtype=bool)
    marks_ok[on] = np.bincount(lg.asset_of, weights=stale_mark, minlength=n_a) == 0
    pair_bad = np.bincount(lg.pair_of, weights=stale_mark | ~watched, minlength=n_p) > 0
    hq = np.zeros(n)
    usd = np.zeros(n)
    for asset, q in held.items():
        hq[sh.index[asset]] = q
        usd[sh.index[asset]] = held_usd[asset]
    usd = usd + perp_usd
    unwatched: dict[str, list[str]] = defaultdict(list)  # asset → legs without a live mark, named
    for j in np.flatnonzero(~watched).tolist():
        p = lg.positions[j]
        src = "valued at the venue's mark" if lg.vmark[j] > 0 else "no mark, live or from the venue"
        unwatched[lg.leg_assets[j]].append(f"{lg.who[j]} {p.symbol} ({src}, no funding rate)")
    stale_index = StaleIndex(fresh)
    out = _Columns(n, hq, perp, usd, carry)
    special = set(old_held) | set(unwatched)
    special.update(sh.assets[i] for i in np.flatnonzero(~marks_ok).tolist())
    special.update(stale_index.assets(sh.assets))
    for asset in sorted(special & set(sh.index)):
        i = sh.index[asset]
        stale = stale_index.venues(held_by.get(asset, set()) | lg.feeders.get(asset, set()), asset)
        out.reasons(i, stale, old_held.get(asset), unwatched.get(asset, []), bool(marks_ok[i]))
    for name, (values, oks, whys) in out.items():
        sink.add_array(name, sh.keys[name], values, oks, whys)
    venue_ok = ~pair_bad
    carry_why: list[str] | str = ""
    if stale_index or unwatched:
        venue_ok &= np.array(
            [venue not in stale_index.venues({venue}, a) for venue, a in lg.pairs], dtype=bool
        )
        carry_why = [
            _legs_reason(vc, ", ".join(x for x in unwatched[a] if x.startswith(f"{venue}/")))
            if unwatched.get(a)
            else ""
            for (venue, a), vc in zip(lg.pairs, carry_by_venue.tolist(), strict=True)
        ]
    sink.add_array("venue_perp_quantity", sh.keys["venue_perp_quantity"], by_venue, venue_ok, "")
    name = "venue_funding_carry_usd_per_day"
    sink.add_array(name, sh.keys[name], carry_by_venue, venue_ok, carry_why)


class _Columns:
    """The six per-asset figures as columns: what an asset with nothing to say shows, then amended."""

    def __init__(self, n: int, hq: FloatArray, perp: FloatArray, usd: FloatArray, carry: FloatArray) -> None:
        self.hq, self.perp, self.usd, self.carry = hq, perp, usd, carry
        self.partial = np.zeros(n)
        self.ok = np.ones(n, dtype=bool)  # every input fresh
        self.legs_ok = np.ones(n, dtype=bool)  # the legs' inputs fresh (the carry uses no holding)
        self.held_ok = np.ones(n, dtype=bool)
        has = (hq > 0).tolist()
        self.why = [""] * n
        self.partial_why = [""] * n
        self.usd_why = [""] * n
        self.old = [""] * n
        self.hedge_why = ["" if h else "no_holdings" for h in has]
        self.carry_why = [""] * n
        with quiet():
            self.hedge = np.where(hq > 0, -perp / hq, math.nan)

    def reasons(
        self, i: int, stale: set[str], old: list[str] | None, unwatched: list[str], marks_ok: bool
    ) -> None:
        """Asset `i`'s freshness and reasons, as the per-asset code wrote them."""
        held_ok = old is None
        old_why = "" if held_ok else f"holding not updated within max_age_s: {', '.join(old or ())}"
        legs_ok = marks_ok and not stale
        legs_why = f"stale: {', '.join(sorted(stale))}" if stale else ""
        ok = legs_ok and held_ok
        why = "; ".join(r for r in (legs_why, old_why) if r)
        legs = ", ".join(unwatched)
        usd, c_a = float(self.usd[i]), float(self.carry[i])
        self.ok[i], self.legs_ok[i], self.held_ok[i] = ok, legs_ok, held_ok
        self.partial[i] = 0.0 if ok and not legs else 1.0
        self.partial_why[i] = _joined(_legs_reason(usd, legs), why or ("" if ok else "stale mark"))
        self.why[i] = why
        self.usd_why[i] = _joined(_legs_reason(usd, legs), why)
        self.old[i] = old_why
        if self.hq[i] > 0:
            self.hedge_why[i] = why
        self.carry_why[i] = _joined(_legs_reason(c_a, legs), legs_why)

    def items(self) -> list[tuple[str, tuple[FloatArray, BoolArray, list[str]]]]:
        with quiet():
            net = self.hq + self.perp
        return [
            ("book_partial", (self.partial, self.ok, self.partial_why)),
            ("net_delta", (net, self.ok, self.why)),
            ("net_delta_usd", (self.usd, self.ok, self.usd_why)),
            ("holdings_quantity", (self.hq, self.held_ok, self.old)),
            ("hedge_ratio", (self.hedge, self.ok, self.hedge_why)),
            ("funding_carry_usd_per_day", (self.carry, self.legs_ok, self.carry_why)),
        ]


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
