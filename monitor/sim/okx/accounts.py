"""The simulated OKX accounts: USDT swaps in cross and isolated margin, figured by perpmon's OKX model.

An account's `[[simulator.accounts]]` entry (`venue = "okx"`) gives its cross wallet (`wallet_usdt`)
and positions (base units, turned into contracts by `ctVal`). An isolated position's `margin` is
`|qty|·entry/leverage + isolated_wallet`, on top of the wallet; `cashBal` is the wallet plus the
isolated margins (OKX freezes them inside the currency's cash), so the cross equity is
`cashBal − isolated margins + Σ cross upl` (venues-next §c). Every figure OKX publishes for a
position (`mmr` the maintenance AMOUNT, `mgnRatio` equity / requirement, `liqPx`) is computed by
`monitor.risk.okx_margin` with the SWAP taker rate 0.05 % as the liquidation fee, so the simulator
and perpmon agree by construction and a test checks the wire, not the arithmetic twice.

Liquidation by OKX's rule: an isolated position whose `mgnRatio` reaches 1 is closed and its margin
lost; a currency whose cross `mgnRatio` reaches 1 loses every cross position, keeping what equity is
left after the liquidation fees. Funding settles into the cash (and an isolated position's margin).
`acctLv` 3 and 4 accounts are served with the same positions; their account-level `adjEq`/`mgnRatio`
are filled (as OKX does in those modes) so a client can be seen refusing to model them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np

from monitor.config import SimAccountConfig
from monitor.risk.okx_margin import (
    okx_liquidation_prices,
    okx_mgn_ratio,
    okx_position_tier,
    okx_tier_table,
    okx_tiers,
)
from monitor.sim.numfmt import q8
from monitor.sim.okx.symbols import OkxSpec

__all__ = ["TAKER_FEE", "OkxAccount", "OkxAccountEngine", "OkxPosition", "OkxPositionView"]

TAKER_FEE = 0.0005  # SWAP taker at Lv1: the liquidation-fee rate [doc-ex]


@dataclass
class OkxPosition:
    pos_id: str
    symbol: str
    mgn_mode: str  # cross | isolated
    pos_side: str  # net | long | short
    contracts: float  # signed: long > 0
    avg_px: float
    lever: float
    margin: float  # isolated only (0 for cross)
    c_time_ms: int


@dataclass
class OkxAccount:
    name: str
    acct_lv: int
    wallet: float  # cross cash, USDT (isolated margins not included)
    positions: list[OkxPosition] = field(default_factory=list)
    update_ms: int = 0

    @property
    def cash_bal(self) -> float:
        return q8(self.wallet + sum(p.margin for p in self.positions))


@dataclass(frozen=True, slots=True)
class OkxPositionView:
    """One position's published figures at the current marks."""

    p: OkxPosition
    spec: OkxSpec
    mark: float
    notional: float
    upl: float
    mm_amount: float  # positions' `mmr`
    imr: float
    mgn_ratio: float  # equity / requirement (the currency's, for cross)
    liq_px: float | None  # None: OKX sends ""
    tier_rate: float


class OkxAccountEngine:
    def __init__(
        self,
        accounts: Iterable[SimAccountConfig],
        specs: Mapping[str, OkxSpec],
        first_mark: Callable[[str], float],
        marks: Mapping[str, float],
        now_ms: int,
    ) -> None:
        self.specs = dict(specs)
        self.marks = dict(marks)
        self._subscribers: list[Callable[[str, str], None]] = []
        self.liquidations: list[tuple[str, str, int]] = []  # (account, posId, ms)
        self.accounts: dict[str, OkxAccount] = {}
        ids = iter(range(612_000_000_000_000_001, 10**19))
        for a in accounts:
            if a.venue != "okx":  # Binance: monitor/sim/accounts.py; Bybit: bybit_accounts.py
                continue
            acct = OkxAccount(a.name, a.okx_acct_lv, q8(a.wallet_usdt), update_ms=now_ms)
            for p in a.positions:
                spec = self.specs.get(p.symbol)
                if spec is None:
                    raise ValueError(f"simulator account {a.name}: OKX lists no {p.symbol} swap")
                entry = p.entry_price or first_mark(p.symbol)
                contracts = round(p.qty / spec.ct_val, 8)
                iso = p.margin_mode == "isolated"
                margin = q8(abs(p.qty) * entry / p.leverage + p.isolated_wallet) if iso else 0.0
                side = {"BOTH": "net", "LONG": "long", "SHORT": "short"}[p.side]
                acct.positions.append(
                    OkxPosition(str(next(ids)), p.symbol, p.margin_mode, side, contracts, entry, p.leverage,
                                margin, now_ms)
                )  # fmt: skip
            self.accounts[a.name] = acct
        self._tables = {
            (s, mode): okx_tier_table(
                [okx_tiers([t.max_sz for t in spec.tiers(mode)], [t.mmr for t in spec.tiers(mode)])]
            )
            for s, spec in self.specs.items()
            for mode in ("cross", "isolated")
        }

    def subscribe(self, callback: Callable[[str, str], None]) -> None:
        """`callback(account, eventType)` after a change the venue pushes (funding_fee, liquidation)."""
        self._subscribers.append(callback)

    def _tell(self, account: str, event: str) -> None:
        for cb in self._subscribers:
            cb(account, event)

    # --- figures ---------------------------------------------------------------------------
    def _rate(self, p: OkxPosition) -> float:
        _tier, rate = okx_position_tier(
            self._tables[(p.symbol, p.mgn_mode)], np.zeros(1, dtype=np.intp), np.array([p.contracts])
        )
        return float(rate[0])

    def views(self, name: str) -> list[OkxPositionView]:
        acct = self.accounts[name]
        rows = []
        for p in acct.positions:
            spec = self.specs[p.symbol]
            mark = self.marks[p.symbol]
            q = p.contracts * spec.ct_val
            rows.append((p, spec, mark, q, abs(q) * mark, q * (mark - p.avg_px), self._rate(p)))
        cross = [r for r in rows if r[0].mgn_mode == "cross"]
        cross_eq = acct.wallet + sum(r[5] for r in cross)
        cross_req = [r[4] * (r[6] + TAKER_FEE) for r in cross]
        out = []
        for p, spec, mark, q, notional, upl, rate in rows:
            req = notional * (rate + TAKER_FEE)
            if p.mgn_mode == "isolated":
                equity, other, ratio_eq, ratio_req = p.margin + upl, 0.0, p.margin + upl, req
            else:
                equity, other = cross_eq, sum(cross_req) - req
                ratio_eq, ratio_req = cross_eq, sum(cross_req)
            lp = okx_liquidation_prices(
                np.array([q]), np.array([mark]), np.array([equity]), np.array([rate]), TAKER_FEE,
                other_requirement=np.array([other]),
            ).price[0]  # fmt: skip
            out.append(
                OkxPositionView(
                    p,
                    spec,
                    mark,
                    q8(notional),
                    q8(upl),
                    q8(notional * rate),
                    q8(notional / p.lever) if p.mgn_mode == "cross" else 0.0,
                    float(okx_mgn_ratio(ratio_eq, ratio_req)),
                    float(lp) if np.isfinite(lp) and lp > 0 else None,
                    rate,
                )
            )
        return out

    def cross_equity(self, name: str) -> float:
        acct = self.accounts[name]
        return acct.wallet + sum(v.upl for v in self.views(name) if v.p.mgn_mode == "cross")

    # --- the tick --------------------------------------------------------------------------
    def on_marks(self, marks: Mapping[str, float], now_ms: int) -> None:
        """New marks (every sample of a tick); liquidate what OKX's margin test no longer passes."""
        self.marks.update(marks)
        for name, acct in self.accounts.items():
            views = self.views(name)
            gone = {v.p.pos_id for v in views if v.p.mgn_mode == "isolated" and v.mgn_ratio <= 1}
            cross = [v for v in views if v.p.mgn_mode == "cross"]
            if cross and cross[0].mgn_ratio <= 1:
                equity = acct.wallet + sum(v.upl for v in cross)
                fees = sum(v.notional * TAKER_FEE for v in cross)
                acct.wallet = q8(max(equity - fees, 0.0))
                gone |= {v.p.pos_id for v in cross}
            if gone:
                acct.positions = [p for p in acct.positions if p.pos_id not in gone]
                acct.update_ms = now_ms
                self.liquidations += [(name, pid, now_ms) for pid in sorted(gone)]
                self._tell(name, "liquidation")

    def settle_funding(self, symbol: str, rate: float, mark: float, now_ms: int) -> None:
        """Longs pay shorts `rate × notional` at the mark, from the cash (isolated: from the margin)."""
        for name, acct in self.accounts.items():
            paid = False
            for p in acct.positions:
                if p.symbol != symbol:
                    continue
                fee = q8(p.contracts * self.specs[symbol].ct_val * mark * rate)
                if p.mgn_mode == "isolated":
                    p.margin = q8(p.margin - fee)
                else:
                    acct.wallet = q8(acct.wallet - fee)
                paid = True
            if paid:
                acct.update_ms = now_ms
                self._tell(name, "funding_fee")
