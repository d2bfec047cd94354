"""Account and position figures of accounts holding inverse legs (Binance COIN-M), in coin.

Why apart from the linear stage: an inverse leg's `qty` is contracts of `contract_size` USD, its
PnL, margin and brackets are in its margin coin, and cross margin is pooled per coin, not per
account (venues-next §a). `AccountStage` hands such accounts here (`split_inverse`) and the
linear columns never see them. Every number is `risk/inverse_margin.py`:

- per leg: coin UPnL and MM at the mark, the LP by `coinm_liquidation_price` (cross: the coin's
  cross wallet with the other contracts on the same coin as TMM1/UPNL1, hedge legs of a symbol
  sharing one LP; isolated: its own wallet), re-tiered at the LP;
- per account: `margin_ratio` is the worst margin coin's MM / (wallet + UPnL), the coin the venue
  would liquidate first; the `_usd` figures are coin figures × that coin's mark (views only: the
  venue margins in coin, so a coin-margined short's USD margin balance hardly moves).

`position_quantity` is the coin exposure at the mark (contracts × size / mark, signed) and
`position_notional_usd` the contracts' face value. A leg without a live mark is priced at the
venue's, and one without tiers has no MM or LP ("missing_tier"); both are marked not fresh.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping

from monitor.evaluation.account_reference import brackets_of
from monitor.evaluation.market import MarketView
from monitor.evaluation.sink import FigureSink
from monitor.records import AccountSnapshot, Position
from monitor.risk.distance import liquidation_distance, liquidation_sigma, touch_probability
from monitor.risk.inverse_margin import coinm_liquidation_price, coinm_maintenance_margin, inverse_upnl
from monitor.risk.margin import Brackets, margin_ratio
from monitor.risk.reasons import Reason
from monitor.store.snapshot import Snapshot

__all__ = ["inverse_accounts", "inverse_figures"]

_Key = tuple[str, str]


def inverse_accounts(snap: Snapshot) -> frozenset[_Key]:
    """The accounts holding an inverse leg: this module's, not the linear stage's."""
    return frozenset(k for k, a in snap.accounts.items() if any(p.inverse for p in a.positions))


def _coin_wallet(acct: AccountSnapshot, coin: str) -> float:
    for b in acct.balances:
        if b.asset == coin:
            return b.cross_wallet_balance if math.isfinite(b.cross_wallet_balance) else b.wallet_balance
    return 0.0


class _Leg:
    __slots__ = ("b", "fresh", "mark", "mm", "p", "upnl", "venue_mark")

    def __init__(self, p: Position, view: MarketView | None, b: Brackets | None, acct_ok: bool) -> None:
        live = view is not None and view.mark > 0
        self.p, self.b = p, b
        self.venue_mark = p.venue_mark_price
        self.mark = view.mark if view is not None and live else p.venue_mark_price
        self.fresh = acct_ok and live and view is not None and view.mark_fresh and b is not None
        if self.mark > 0:
            self.upnl = float(inverse_upnl(p.qty, p.contract_size, p.entry_price, self.mark))
        else:
            self.upnl = p.venue_unrealized_pnl
        self.mm = math.nan
        if b is not None and self.mark > 0:
            self.mm = float(coinm_maintenance_margin(p.qty, p.contract_size, self.mark, b))


def _lp(legs: list[_Leg], group: list[_Leg], wallet: float, at_venue: bool) -> tuple[float, str]:
    """The LP of one contract (`group`: its legs), the others on the same coin held at their marks."""
    head = group[0]
    mark = head.venue_mark if at_venue else head.mark
    if head.b is None:
        return math.nan, "missing_tier"
    if not (mark > 0):
        return math.nan, "no_mark"
    kw: dict[str, float] = {}
    for g in group:
        p = g.p
        if p.side == "BOTH":
            kw |= {"contracts": p.qty, "entry": p.entry_price}
        elif p.side == "LONG":
            kw |= {"long_contracts": abs(p.qty), "long_entry": p.entry_price}
        else:
            kw |= {"short_contracts": abs(p.qty), "short_entry": p.entry_price}
    others = [x for x in legs if x not in group]
    res = coinm_liquidation_price(
        mark=mark, wallet=wallet, brackets=head.b, contract_size=head.p.contract_size,
        other_mm=sum(x.mm for x in others), other_upnl=sum(x.upnl for x in others), **kw,
    )  # fmt: skip
    why = "" if res.reason == Reason.OK else Reason(res.reason).name.lower()
    return (res.price if res.price > 0 else math.nan), why


def inverse_figures(
    snap: Snapshot,
    keys: frozenset[_Key],
    markets: Mapping[_Key, MarketView],
    fresh: Mapping[_Key, bool],
    sink: FigureSink,
    *,
    horizon_s: float,
) -> None:
    """The account stage's figures (names and labels as the linear stage's) for the accounts `keys`."""
    for venue, account in sorted(keys):
        acct = snap.accounts[(venue, account)]
        acct_ok = fresh.get((venue, f"account:{account}"), False)
        tiers = snap.tiers
        legs = [
            _Leg(
                p, markets.get((venue, p.symbol)), brackets_of(tiers.get((venue, account, p.symbol))), acct_ok
            )
            for p in acct.positions
            if p.inverse
        ]
        cross: dict[str, list[_Leg]] = defaultdict(list)
        for x in legs:
            if x.p.margin_mode == "cross":
                cross[x.p.margin_asset].append(x)
        _account(sink, venue, account, acct, legs, cross, acct_ok)
        for x in legs:
            _position(sink, venue, account, acct, x, cross, horizon_s, markets)


def _account(
    sink: FigureSink,
    venue: str,
    account: str,
    acct: AccountSnapshot,
    legs: list[_Leg],
    cross: Mapping[str, list[_Leg]],
    acct_ok: bool,
) -> None:
    wallet_usd = balance_usd = mm_usd = 0.0
    worst = 0.0
    all_fresh = acct_ok
    for coin, group in cross.items():
        px = next((x.mark for x in group if x.mark > 0), math.nan)
        w = _coin_wallet(acct, coin)
        upnl, mm = sum(x.upnl for x in group), sum(x.mm for x in group)
        worst = max(worst, float(margin_ratio(mm, w + upnl)))
        wallet_usd, balance_usd, mm_usd = wallet_usd + w * px, balance_usd + (w + upnl) * px, mm_usd + mm * px
        all_fresh = all_fresh and all(x.fresh for x in group)
    lab = {"venue": venue, "account": account}
    sink.add("wallet_balance_usd", wallet_usd, lab, fresh=acct_ok)
    sink.add("unrealized_pnl_usd", balance_usd - wallet_usd, lab, fresh=all_fresh)
    sink.add("margin_balance_usd", balance_usd, lab, fresh=all_fresh)
    sink.add("maintenance_margin_usd", mm_usd, lab, fresh=all_fresh)
    sink.add("margin_ratio", worst, lab, fresh=all_fresh)
    if cross:
        sink.add("margin_headroom_usd", balance_usd - mm_usd, lab, fresh=all_fresh)
        sink.add("margin_headroom_ratio", 1.0 - worst, lab, fresh=all_fresh)


def _position(
    sink: FigureSink,
    venue: str,
    account: str,
    acct: AccountSnapshot,
    x: _Leg,
    cross: Mapping[str, list[_Leg]],
    horizon_s: float,
    markets: Mapping[_Key, MarketView],
) -> None:
    p, mark = x.p, x.mark
    lab = {"venue": venue, "account": account, "symbol": p.symbol, "side": p.side}
    if p.margin_mode == "cross":
        pool = cross[p.margin_asset]
        group, wallet = [y for y in pool if y.p.symbol == p.symbol], _coin_wallet(acct, p.margin_asset)
    else:
        pool, group, wallet = [x], [x], p.isolated_wallet
        sink.add("position_margin_ratio", float(margin_ratio(x.mm, wallet + x.upnl)), lab, fresh=x.fresh)
    lp, why = _lp(pool, group, wallet, at_venue=False)
    same, _ = _lp(pool, group, wallet, at_venue=True) if x.venue_mark > 0 else (math.nan, "")
    face = p.qty * p.contract_size
    view = markets.get((venue, p.symbol))
    sigma = view.sigma_ann if view is not None else math.nan
    dist = float(liquidation_distance(lp, mark))
    k = float(liquidation_sigma(lp, mark, sigma, horizon_s))
    sink.add("position_quantity", face / mark if mark > 0 else math.nan, lab, fresh=x.fresh)
    sink.add("position_notional_usd", abs(face), lab, fresh=x.fresh)
    sink.add("position_unrealized_pnl_usd", x.upnl * mark, lab, fresh=x.fresh)
    sink.add("position_maintenance_margin_usd", x.mm * mark, lab, fresh=x.fresh)
    sink.add("liquidation_price_usd", lp, lab, fresh=x.fresh, reason=why)
    vlp = p.venue_liquidation_price
    sink.add("venue_liquidation_price_usd", vlp, lab, reason="" if vlp > 0 else "venue_shows_none")
    sink.add("liquidation_distance_ratio", dist, lab, fresh=x.fresh, reason=why)
    sink.add(
        "liquidation_distance_sigma", k, lab, fresh=x.fresh, reason=why or ("" if k == k else "no_volatility")
    )
    sink.add(
        "liquidation_touch_probability_ratio", float(touch_probability(k)), lab, fresh=x.fresh, reason=why
    )
    if same > 0 and vlp > 0:
        sink.add("liquidation_price_divergence_ratio", abs(same / vlp - 1.0), lab, fresh=x.fresh)
