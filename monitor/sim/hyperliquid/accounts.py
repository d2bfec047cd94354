"""Hyperliquid accounts on the simulator: address-keyed, cross and isolated, liquidated by the venue's rules.

Why its own engine: Hyperliquid's numbers are not Binance's. Maintenance margin is half the initial
margin at max leverage, tiered by notional with deductions; the LP the venue publishes is the
documented formula with the LP's own tier (`risk.hyperliquid_margin.hl_liquidation_prices`, the pure
model perpmon's evaluator uses, so the simulator's `liquidationPx` is the reference an LP is compared
with); funding is hourly on the oracle. Liquidation [doc]: a cross account when its account value <
cross MM (every cross position closes at the mark, the account keeps what is left); an isolated
position when its margin (upnl included) < its MM (closed, the margin is lost: the backstop keeps
it). Simplified: the venue's 20 % partial liquidations and their 30 s cooldown are not simulated.

Identities kept [derived, venues-next §d]: isolated `marginUsed = rawUsd + szi·mark`; an account's
`accountValue = totalRawUsd + Σ szi·mark`; the cross wallet `usd` is what is left after realised
P&L and funding, so cross `totalRawUsd = usd − Σ szi·entry`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from monitor.config import SimAccountConfig
from monitor.risk.hyperliquid_margin import hl_funding_payment, hl_liquidation_prices
from monitor.risk.reasons import Reason
from monitor.risk.tiers import tier_table
from monitor.sim.hyperliquid.market import HlFunding, HlMarket, coin_of

__all__ = ["HlAccount", "HlAccountEngine", "HlPosition", "HlPositionRow", "HlState", "hl_address"]


def hl_address(name: str) -> str:
    """The simulated account's wallet address: 42 hex characters derived from its name (stable)."""
    return "0x" + hashlib.sha256(f"perpmon-sim-hyperliquid:{name}".encode()).hexdigest()[:40]


@dataclass(slots=True)
class HlPosition:
    coin: str
    szi: float  # signed size
    entry: float
    leverage: int
    isolated: bool
    raw_usd: float = 0.0  # isolated only: marginUsed − szi·mark
    funding_all: float = 0.0  # funding paid (positive: paid), as `cumFunding` counts it
    funding_open: float = 0.0


@dataclass(slots=True)
class HlAccount:
    name: str
    address: str
    usd: float  # the cross wallet: deposits, realised P&L and funding of cross positions
    positions: dict[str, HlPosition] = field(default_factory=dict)
    liquidations: int = 0


@dataclass(frozen=True, slots=True)
class HlPositionRow:
    pos: HlPosition
    mark: float
    value: float  # gross notional at the mark
    upnl: float
    margin_used: float
    mm: float
    max_leverage: int
    liquidation_px: float | None  # None: no positive price liquidates (the venue's null)


@dataclass(frozen=True, slots=True)
class HlState:
    """What `clearinghouseState` reports, in numbers: `cross_*` is `crossMarginSummary`'s."""

    rows: tuple[HlPositionRow, ...]
    account_value: float
    total_ntl: float
    total_raw_usd: float
    total_margin_used: float
    cross_value: float
    cross_ntl: float
    cross_raw_usd: float
    cross_margin_used: float
    cross_mm: float
    withdrawable: float


class HlAccountEngine:
    def __init__(self, accounts: Iterable[SimAccountConfig], market: HlMarket) -> None:
        self.market = market
        self._brackets = [a.brackets() for a in market.assets]
        self._table = tier_table(self._brackets)
        # (floor, mmr, deduction) per coin as floats: the per-sample liquidation test stays off numpy
        self._tiers = {
            a.coin: list(zip(b.floors.tolist(), b.mmrs.tolist(), b.cums.tolist(), strict=True))
            for a, b in zip(market.assets, self._brackets, strict=True)
        }
        marks = market.marks()
        self.accounts: dict[str, HlAccount] = {}
        for cfg in accounts:
            acc = HlAccount(cfg.name, hl_address(cfg.name), cfg.wallet_usdt)
            for p in cfg.positions:
                coin = coin_of(p.symbol)
                if coin not in market.index or p.qty == 0:
                    raise ValueError(f"simulated Hyperliquid account {cfg.name}: no perp {p.symbol}")
                spec = market.assets[market.index[coin]]
                lev = max(1, min(int(p.leverage), spec.max_leverage))
                entry = p.entry_price or marks[coin]
                iso = p.margin_mode == "isolated"
                margin = p.isolated_wallet or abs(p.qty) * entry / lev
                raw = margin - p.qty * entry if iso else 0.0
                acc.positions[coin] = HlPosition(coin, p.qty, entry, lev, iso, raw)
            self.accounts[acc.address] = acc
        self.by_name = {a.name: a for a in self.accounts.values()}

    def _mm(self, coin: str, value: float) -> float:
        """MM = value·mmr − deduction of the tier `value` falls in (`risk.margin.maintenance_margin`)."""
        rate, deduction = 0.0, 0.0
        for floor, mmr, cum in self._tiers[coin]:
            if value < floor:
                break
            rate, deduction = mmr, cum
        return value * rate - deduction

    def state(self, address: str, marks: dict[str, float] | None = None) -> HlState:
        """The account at `marks` (default: now). Unknown addresses are an empty account, as at the venue."""
        m = self.market.marks() if marks is None else marks
        acc = self.accounts.get(address.lower()) or HlAccount("", address, 0.0)
        ps = list(acc.positions.values())
        mark = np.array([m[p.coin] for p in ps], dtype=np.float64)
        szi = np.array([p.szi for p in ps], dtype=np.float64)
        value = np.abs(szi) * mark
        upnl = szi * (mark - np.array([p.entry for p in ps], dtype=np.float64))
        mm = np.array([self._mm(p.coin, v) for p, v in zip(ps, value, strict=True)], dtype=np.float64)
        iso = np.array([p.isolated for p in ps], dtype=bool)
        lev = np.array([p.leverage for p in ps], dtype=np.float64)
        raw = np.array([p.raw_usd for p in ps], dtype=np.float64)
        used = np.where(iso, raw + szi * mark, value / np.maximum(lev, 1))
        cross_value = acc.usd + float(upnl[~iso].sum())
        cross_mm = float(mm[~iso].sum())
        margin = np.where(iso, used, cross_value)
        other = np.where(iso, 0.0, cross_mm - mm)
        sym = np.array([self.market.index[p.coin] for p in ps], dtype=np.intp)
        if ps:
            lp = hl_liquidation_prices(szi, mark, margin, self._table, sym, other_mm=other)
        rows = tuple(
            HlPositionRow(
                p,
                float(mark[i]),
                float(value[i]),
                float(upnl[i]),
                float(used[i]),
                float(mm[i]),
                self.market.assets[sym[i]].max_leverage,
                float(lp.price[i]) if lp.reason[i] in (Reason.OK, Reason.PAST_LIQUIDATION) else None,
            )
            for i, p in enumerate(ps)
        )
        cross_ntl = float(value[~iso].sum())
        cross_used = float(used[~iso].sum())
        cross_raw = cross_value - float((szi * mark)[~iso].sum())
        iso_raw = float(raw[iso].sum())
        return HlState(
            rows=rows,
            account_value=cross_value + float(used[iso].sum()),
            total_ntl=float(value.sum()),
            total_raw_usd=cross_raw + iso_raw,
            total_margin_used=float(used.sum()),
            cross_value=cross_value,
            cross_ntl=cross_ntl,
            cross_raw_usd=cross_raw,
            cross_margin_used=cross_used,
            cross_mm=cross_mm,
            withdrawable=max(0.0, cross_value - cross_used),
        )

    def on_marks(self, marks: dict[str, float]) -> list[str]:
        """Liquidate what the venue would at `marks` (coin → mark); the liquidated accounts' names.

        Every replayed sample passes here, so the test is plain floats (no LP is needed to see one crossed).
        """
        hit: list[str] = []
        for acc in self.accounts.values():
            gone: list[str] = []
            cross_upnl = cross_mm = 0.0
            for p in acc.positions.values():
                m = marks[p.coin]
                mm = self._mm(p.coin, abs(p.szi) * m)
                if p.isolated:
                    if p.raw_usd + p.szi * m < mm:  # isolated margin (upnl in) below its MM
                        gone.append(p.coin)
                else:
                    cross_upnl += p.szi * (m - p.entry)
                    cross_mm += mm
            if acc.usd + cross_upnl < cross_mm:  # strict [doc]
                gone += [p.coin for p in acc.positions.values() if not p.isolated]
                acc.usd += cross_upnl
            for coin in gone:
                del acc.positions[coin]
            if gone:
                acc.liquidations += 1
                hit.append(acc.name)
        return hit

    def settle_funding(self, due: Iterable[HlFunding]) -> None:
        """Pay each hour's funding on the oracle [doc]: cross to the wallet, isolated to its margin."""
        rates = {f.coin: f for f in due}
        for acc in self.accounts.values():
            for p in acc.positions.values():
                f = rates.get(p.coin)
                if f is None:
                    continue
                pay = float(hl_funding_payment(p.szi, f.oracle, f.rate))
                if p.isolated:
                    p.raw_usd += pay
                else:
                    acc.usd += pay
                p.funding_all -= pay
                p.funding_open -= pay
