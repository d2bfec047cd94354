"""COIN-M accounts: coin wallets, inverse positions, their figures, and the liquidation engine.

Every figure is perpmon's pure inverse model (`monitor/risk/inverse_margin.py`), so the venue's
`liquidationPrice` is the LP the risk functions compute, and the engine closes a position on the
first mark sample at or past it: the coin margin test (Σ MM ≥ wallet + Σ UPnL, per margin coin for
cross; MM ≥ isolatedWallet + UPnL for an isolated position) is exactly exhausted at the LP
(venues-next §a.3), so testing the margin and comparing with the LP are the same rule.

Accounts come from `[[simulator.accounts]]` with `venue = "binance_coinm"`: `other_assets` are the
coin cross wallets (`BTC = 2.0`), positions' `qty` are signed **contracts**, `isolated_wallet` is
in coin. A liquidation realises the coin PnL into the wallet, takes a clearance fee of
`LIQUIDATION_FEE` × the coin value (never more than what is left: a wallet ends at 0 at worst), and
tells the engine's listeners (the venue sends `ACCOUNT_UPDATE`, reason "ORDER").
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from monitor.config import SimAccountConfig
from monitor.risk.inverse_margin import (
    coin_value,
    coinm_liquidation_price,
    coinm_maintenance_margin,
    inverse_upnl,
)
from monitor.risk.margin import Brackets
from monitor.sim.binance_coinm.market import CoinmSpec
from monitor.sim.numfmt import q8

__all__ = ["LIQUIDATION_FEE", "CoinmAccount", "CoinmEngine", "CoinmPosition", "CoinmView"]

LIQUIDATION_FEE = 0.015  # the simulator's clearance fee, of the coin value at the mark
VENUE = "binance_coinm"

Sink = Callable[["CoinmAccount", "CoinmPosition", int], None]  # (account, closed, time)


@dataclass(slots=True)
class CoinmPosition:
    symbol: str
    side: str  # BOTH, LONG, SHORT
    contracts: float  # signed
    entry: float
    leverage: float
    margin_mode: str  # cross, isolated
    isolated_wallet: float  # coin


@dataclass(slots=True)
class CoinmAccount:
    name: str
    wallets: dict[str, float]  # coin → cross wallet
    positions: list[CoinmPosition] = field(default_factory=list)
    update_ms: int = 0
    permissions: tuple[str, ...] = ("enableReading",)  # what `apiRestrictions` reports true

    @property
    def dual_side(self) -> bool:
        return any(p.side != "BOTH" for p in self.positions)


@dataclass(frozen=True, slots=True)
class CoinmView:
    """One position's figures at the mark, in coin unless named otherwise."""

    symbol: str
    side: str
    coin: str
    contracts: float
    entry: float
    mark: float
    upnl: float
    notional: float  # signed coin value, Binance's `notionalValue`
    maint_margin: float
    maint_margin_ratio: float
    initial_margin: float
    leverage: float
    margin_mode: str
    isolated_wallet: float
    liquidation_price: float | None  # None: no price liquidates it (Binance sends "0")


def _mmr(v: float, b: Brackets) -> float:
    for floor, cap, mmr in zip(b.floors, b.caps, b.mmrs, strict=True):
        if floor <= v < cap:
            return float(mmr)
    return float(b.mmrs[-1])


class CoinmEngine:
    def __init__(
        self,
        accounts: Iterable[SimAccountConfig],
        *,
        specs: Mapping[str, CoinmSpec],
        brackets: Mapping[str, Brackets],
        marks: Mapping[str, float],
        first_mark: Callable[[str], float],
        now_ms: int,
    ) -> None:
        self.specs, self.brackets = specs, brackets
        self.marks = dict(marks)
        self.accounts: dict[str, CoinmAccount] = {}
        self.liquidations: list[
            tuple[str, str, str, float, float, int]
        ] = []  # account, symbol, side, n, price, ms
        self._sinks: list[Sink] = []
        for a in accounts:
            if a.venue != VENUE:
                continue
            wallets = {c: q8(w) for c, w in a.other_assets.items()}
            acct = CoinmAccount(a.name, wallets, update_ms=now_ms, permissions=a.permissions)
            for p in a.positions:
                spec = specs[p.symbol]
                acct.wallets.setdefault(spec.base, 0.0)
                entry = p.entry_price if p.entry_price is not None else first_mark(p.symbol)
                acct.positions.append(
                    CoinmPosition(
                        p.symbol, p.side, p.qty, q8(entry), p.leverage, p.margin_mode, q8(p.isolated_wallet)
                    )
                )
            self.accounts[a.name] = acct

    def subscribe(self, sink: Sink) -> None:
        self._sinks.append(sink)

    # --- figures -------------------------------------------------------------------------------
    def _coin_figures(self, p: CoinmPosition, mark: float) -> tuple[float, float]:
        """(UPnL, MM) in coin at `mark`."""
        cs = self.specs[p.symbol].contract_size
        upnl = float(inverse_upnl(p.contracts, cs, p.entry, mark))
        mm = float(coinm_maintenance_margin(p.contracts, cs, mark, self.brackets[p.symbol]))
        return upnl, mm

    def _cross(self, acct: CoinmAccount, coin: str) -> list[CoinmPosition]:
        return [p for p in acct.positions if p.margin_mode == "cross" and self.specs[p.symbol].base == coin]

    def liquidation_price(self, acct: CoinmAccount, p: CoinmPosition) -> float | None:
        spec, mark = self.specs[p.symbol], self.marks[p.symbol]
        b = self.brackets[p.symbol]
        if p.margin_mode == "isolated":
            res = coinm_liquidation_price(
                mark=mark, wallet=p.isolated_wallet, brackets=b, contract_size=spec.contract_size,
                contracts=p.contracts, entry=p.entry,
            )  # fmt: skip
        else:
            legs = [q for q in self._cross(acct, spec.base) if q.symbol == p.symbol]
            others = [q for q in self._cross(acct, spec.base) if q.symbol != p.symbol]
            figs = [self._coin_figures(q, self.marks[q.symbol]) for q in others]
            kw: dict[str, float] = {}
            for q in legs:
                if q.side == "BOTH":
                    kw |= {"contracts": q.contracts, "entry": q.entry}
                elif q.side == "LONG":
                    kw |= {"long_contracts": abs(q.contracts), "long_entry": q.entry}
                else:
                    kw |= {"short_contracts": abs(q.contracts), "short_entry": q.entry}
            res = coinm_liquidation_price(
                mark=mark, wallet=acct.wallets[spec.base], brackets=b, contract_size=spec.contract_size,
                other_mm=sum(f[1] for f in figs), other_upnl=sum(f[0] for f in figs), **kw,
            )  # fmt: skip
        return res.price if math.isfinite(res.price) and res.price > 0 else None

    def positions(self, account: str) -> list[CoinmView]:
        acct = self.accounts[account]
        out = []
        for p in acct.positions:
            spec, mark = self.specs[p.symbol], self.marks[p.symbol]
            upnl, mm = self._coin_figures(p, mark)
            v = float(coin_value(p.contracts, spec.contract_size, mark))
            out.append(
                CoinmView(
                    p.symbol, p.side, spec.base, p.contracts, p.entry, mark, q8(upnl),
                    q8(math.copysign(v, p.contracts)), q8(mm), _mmr(v, self.brackets[p.symbol]),
                    q8(v / p.leverage), p.leverage, p.margin_mode, p.isolated_wallet,
                    self.liquidation_price(acct, p),
                )
            )  # fmt: skip
        return out

    def assets(self, account: str) -> dict[str, dict[str, float]]:
        """Per coin: wallet (cross + isolated), cross wallet, UPnL, cross UPnL, MM, position IM."""
        acct = self.accounts[account]
        out = {
            c: {"wallet": w, "cross_wallet": w, "upnl": 0.0, "cross_upnl": 0.0, "mm": 0.0, "im": 0.0}
            for c, w in acct.wallets.items()
        }
        for v in self.positions(account):
            a = out[v.coin]
            a["upnl"] += v.upnl
            a["mm"] += v.maint_margin
            a["im"] += v.initial_margin
            if v.margin_mode == "cross":
                a["cross_upnl"] += v.upnl
            else:
                a["wallet"] += v.isolated_wallet
        return {c: {k: q8(x) for k, x in a.items()} for c, a in out.items()}

    # --- funding ---------------------------------------------------------------------------------
    def settle_funding(
        self, symbol: str, rate: float, mark: float, now_ms: int
    ) -> list[tuple[CoinmAccount, str]]:
        """Pay one settlement in coin: each leg pays `contracts × size / mark × rate` (longs pay a
        positive rate) from its cross wallet or its isolated wallet; the (account, coin) touched."""
        spec = self.specs[symbol]
        touched: list[tuple[CoinmAccount, str]] = []
        for acct in self.accounts.values():
            legs = [p for p in acct.positions if p.symbol == symbol]
            for p in legs:
                fee = q8(p.contracts * spec.contract_size / mark * rate)
                if p.margin_mode == "cross":
                    acct.wallets[spec.base] = q8(acct.wallets[spec.base] - fee)
                else:
                    p.isolated_wallet = q8(p.isolated_wallet - fee)
            if legs:
                acct.update_ms = now_ms
                touched.append((acct, spec.base))
        return touched

    # --- the liquidation engine ------------------------------------------------------------------
    def _breached(self, acct: CoinmAccount) -> list[CoinmPosition]:
        out: list[CoinmPosition] = []
        for coin, wallet in acct.wallets.items():
            cross = self._cross(acct, coin)
            figs = [self._coin_figures(p, self.marks[p.symbol]) for p in cross]
            if cross and sum(f[1] for f in figs) >= wallet + sum(f[0] for f in figs):
                out += cross
        for p in acct.positions:
            if p.margin_mode == "isolated":
                upnl, mm = self._coin_figures(p, self.marks[p.symbol])
                if mm >= p.isolated_wallet + upnl:
                    out.append(p)
        return out

    def on_marks(self, marks: Mapping[str, float], now_ms: int) -> None:
        """One mark sample: update the marks, close every position whose margin test has failed."""
        self.marks.update(marks)
        for acct in self.accounts.values():
            for p in self._breached(acct):
                self._close(acct, p, now_ms)

    def _close(self, acct: CoinmAccount, p: CoinmPosition, now_ms: int) -> None:
        spec, mark = self.specs[p.symbol], self.marks[p.symbol]
        upnl, _mm = self._coin_figures(p, mark)
        fee_due = LIQUIDATION_FEE * float(coin_value(p.contracts, spec.contract_size, mark))
        left = (acct.wallets[spec.base] if p.margin_mode == "cross" else p.isolated_wallet) + upnl
        fee = min(fee_due, max(0.0, left))
        if p.margin_mode == "cross":
            acct.wallets[spec.base] = q8(max(0.0, left - fee))
        else:
            acct.wallets[spec.base] = q8(acct.wallets[spec.base] + max(0.0, left - fee))
        acct.positions.remove(p)
        acct.update_ms = now_ms
        self.liquidations.append((acct.name, p.symbol, p.side, p.contracts, mark, now_ms))
        for sink in self._sinks:
            sink(acct, p, now_ms)
