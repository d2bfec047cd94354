"""The account engine: simulated Binance USDⓈ-M accounts, their figures, funding and liquidations.

Tests and the REST layer read it; the market tick drives it (`on_marks`, `settle_funding`). Every
figure it exposes is quantized to the 8 decimals the venue publishes, so a client that parses the
wire strings holds exactly these floats. User-stream events go to subscribed sinks per account.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import structlog

from monitor.config import SimAccountConfig
from monitor.sim.binance import events
from monitor.sim.binance.liquidation import Liquidation, breached_positions, close_at_mark
from monitor.sim.binance.lp_solver import liquidation_price
from monitor.sim.binance.margin import account_risk, position_risk
from monitor.sim.book import Account, Position, account_from_config, holding, pay_funding
from monitor.sim.brackets import BRACKETS, Bracket
from monitor.sim.numfmt import q8
from monitor.sim.symbols import SYMBOLS, SymbolSpec

__all__ = ["AccountEngine", "AccountView", "FundingPayment", "PositionView", "UserEventSink"]

UserEventSink = Callable[[str, dict[str, Any]], None]  # (account name, event payload)
MARGIN_CALL_RATIO = 0.8
_log = structlog.get_logger()


@dataclass(frozen=True, slots=True)
class PositionView:
    symbol: str
    side: str
    qty: float
    entry: float
    margin_mode: str
    isolated_wallet: float
    leverage: float
    mark: float
    notional: float
    unrealized_pnl: float
    maint_margin: float
    maint_margin_ratio: float
    cum: float
    initial_margin: float
    isolated_margin: float
    liquidation_price: float  # 0.0: no positive price liquidates it
    margin_ratio: float  # the account's cross ratio, or the isolated position's own
    update_ms: int


@dataclass(frozen=True, slots=True)
class AccountView:
    name: str
    wallet_balance: float
    cross_wallet: float
    unrealized_pnl: float
    cross_unrealized_pnl: float
    margin_balance: float
    cross_margin_balance: float
    maint_margin: float
    cross_maint_margin: float
    initial_margin: float
    available_balance: float
    margin_ratio: float  # cross: Σ cross MM / cross margin balance
    update_ms: int


@dataclass(frozen=True, slots=True)
class FundingPayment:
    account: str
    symbol: str
    side: str
    amount: float  # received (+) or paid (−): −q × mark × rate
    rate: float
    mark: float
    time_ms: int


class AccountEngine:
    def __init__(
        self,
        accounts: Sequence[SimAccountConfig],
        *,
        first_mark: Callable[[str], float],
        marks: Mapping[str, float],
        now_ms: int,
        brackets: Mapping[str, tuple[Bracket, ...]] = BRACKETS,
        specs: Mapping[str, SymbolSpec] | None = None,
    ) -> None:
        self._brackets = dict(brackets)
        self._specs = dict(specs) if specs is not None else {s.symbol: s for s in SYMBOLS}
        self.marks: dict[str, float] = dict(marks)
        self.accounts: dict[str, Account] = {
            a.name: account_from_config(a, f"simulator.accounts[{i}]", first_mark, now_ms, self._brackets)
            for i, a in enumerate(accounts)
            if a.venue == "binance"  # the simulated Bybit's accounts live in bybit/accounts.py
        }
        self.liquidations: list[Liquidation] = []
        self.funding_payments: list[FundingPayment] = []
        self._sinks: list[UserEventSink] = []
        self._order_id = 8_000_000_000

    # --- reading -------------------------------------------------------------------------
    def brackets(self, symbol: str) -> tuple[Bracket, ...]:
        return self._brackets[symbol]

    def summary(self, name: str) -> AccountView:
        acct = self.accounts[name]
        r = account_risk(acct.cross_wallet, acct.positions, self.marks, self._brackets)
        return AccountView(
            name=name,
            wallet_balance=q8(r.wallet_balance),
            cross_wallet=q8(r.cross_wallet),
            unrealized_pnl=q8(r.upnl),
            cross_unrealized_pnl=q8(r.cross_upnl),
            margin_balance=q8(r.margin_balance),
            cross_margin_balance=q8(r.cross_margin_balance),
            maint_margin=q8(r.maint_margin),
            cross_maint_margin=q8(r.cross_maint_margin),
            initial_margin=q8(r.initial_margin),
            available_balance=q8(r.available),
            margin_ratio=r.cross_margin_ratio,
            update_ms=acct.update_ms,
        )

    def wallet_balance(self, name: str) -> float:
        return self.summary(name).wallet_balance

    def margin_ratio(self, name: str) -> float:
        return self.summary(name).margin_ratio

    def maint_margin(self, name: str) -> float:
        return self.summary(name).maint_margin

    def positions(self, name: str) -> list[PositionView]:
        acct = self.accounts[name]
        cross_ratio = account_risk(
            acct.cross_wallet, acct.positions, self.marks, self._brackets
        ).cross_margin_ratio
        return [self._view(acct, p, cross_ratio) for p in acct.positions]

    def position(self, name: str, symbol: str, side: str = "BOTH") -> PositionView | None:
        return next((v for v in self.positions(name) if v.symbol == symbol and v.side == side), None)

    def liquidation_price(self, name: str, symbol: str, side: str = "BOTH") -> float:
        view = self.position(name, symbol, side)
        return view.liquidation_price if view else 0.0

    def _view(self, acct: Account, p: Position, cross_ratio: float) -> PositionView:
        mark = self.marks[p.symbol]
        r = position_risk(p, mark, self._brackets[p.symbol])
        lp = liquidation_price(p, acct.positions, acct.cross_wallet, self.marks, self._brackets)
        return PositionView(
            symbol=p.symbol,
            side=p.side,
            qty=p.qty,
            entry=p.entry,
            margin_mode=p.margin_mode,
            isolated_wallet=p.isolated_wallet,
            leverage=p.leverage,
            mark=mark,
            notional=q8(r.notional),
            unrealized_pnl=q8(r.upnl),
            maint_margin=q8(r.maint_margin),
            maint_margin_ratio=r.bracket.mmr,
            cum=r.bracket.cum,
            initial_margin=q8(r.initial_margin),
            isolated_margin=q8(r.isolated_margin),
            liquidation_price=q8(lp),
            margin_ratio=r.isolated_ratio if p.margin_mode == "isolated" else cross_ratio,
            update_ms=p.update_ms,
        )

    # --- driving -------------------------------------------------------------------------
    def subscribe(self, sink: UserEventSink) -> None:
        self._sinks.append(sink)

    def _emit(self, name: str, payload: dict[str, Any]) -> None:
        for sink in self._sinks:
            sink(name, payload)

    def on_marks(self, marks: Mapping[str, float], now_ms: int) -> list[Liquidation]:
        """Take new marks; liquidate what has breached, then raise margin calls."""
        self.marks.update(marks)
        done: list[Liquidation] = []
        for acct in self.accounts.values():
            breached = breached_positions(acct, self.marks, self._brackets)
            if breached:
                done += self._liquidate(acct, breached, now_ms)
            self._margin_calls(acct, now_ms)
        return done

    def _liquidate(self, acct: Account, breached: list[Position], now_ms: int) -> list[Liquidation]:
        out: list[Liquidation] = []
        deltas: list[events.PositionDelta] = []
        before = acct.cross_wallet + sum(p.isolated_wallet for p in acct.positions)
        for pos in breached:
            spec = self._specs.get(pos.symbol)
            fee_rate = spec.liquidation_fee if spec else 0.0
            mark = self.marks[pos.symbol]
            liq = close_at_mark(acct, pos, mark, fee_rate, now_ms)
            out.append(liq)
            self._order_id += 1
            pos.realized = q8(pos.realized + liq.realized_pnl)
            self._emit(
                acct.name,
                events.liquidation_order_update(now_ms, self._order_id, pos, mark, liq.fee, liq.realized_pnl),
            )
            deltas.append(
                events.PositionDelta(pos.symbol, pos.side, 0.0, 0.0, pos.realized, 0.0, pos.margin_mode, 0.0)
            )
            _log.info(
                "sim_liquidation",
                account=acct.name,
                symbol=pos.symbol,
                side=pos.side,
                qty=pos.qty,
                price=mark,
            )
        self.liquidations += out
        wallet = acct.cross_wallet + sum(p.isolated_wallet for p in acct.positions)
        balance = events.BalanceDelta(q8(wallet), acct.cross_wallet, q8(wallet - before))
        self._emit(acct.name, events.account_update(now_ms, "ORDER", balance, deltas))
        return out

    def _margin_calls(self, acct: Account, now_ms: int) -> None:
        cross = [p for p in acct.positions if p.margin_mode == "cross"]
        if cross:
            r = account_risk(acct.cross_wallet, cross, self.marks, self._brackets)
            if self._crossed(acct, "cross", r.cross_margin_ratio):
                rows = [self._call_row(p) for p in cross]
                self._emit(acct.name, events.margin_call(now_ms, acct.cross_wallet, rows))
        for p in acct.positions:
            if p.margin_mode == "isolated":
                ratio = position_risk(p, self.marks[p.symbol], self._brackets[p.symbol]).isolated_ratio
                if self._crossed(acct, f"{p.symbol}:{p.side}", ratio):
                    self._emit(acct.name, events.margin_call(now_ms, None, [self._call_row(p)]))

    def _call_row(self, p: Position) -> tuple[Position, float, float, float]:
        mark = self.marks[p.symbol]
        r = position_risk(p, mark, self._brackets[p.symbol])
        return p, mark, r.upnl, r.maint_margin

    @staticmethod
    def _crossed(acct: Account, key: str, ratio: float) -> bool:
        """True once per upward crossing of 80 %; re-armed when the ratio falls back below."""
        if ratio >= MARGIN_CALL_RATIO:
            if key not in acct.margin_calls:
                acct.margin_calls.add(key)
                return True
        else:
            acct.margin_calls.discard(key)
        return False

    def settle_funding(self, symbol: str, rate: float, mark: float, now_ms: int) -> list[FundingPayment]:
        """Pay `−q × mark × rate` to every position on `symbol` (cross wallet or isolated wallet)."""
        paid: list[FundingPayment] = []
        for acct, legs in holding(self.accounts.values(), symbol):
            total = 0.0
            iso: list[events.PositionDelta] = []
            for p in legs:
                amount = pay_funding(acct, p, mark, rate)
                total += amount
                if p.margin_mode != "cross":
                    upnl = q8(p.qty * (mark - p.entry))
                    iso.append(
                        events.PositionDelta(
                            p.symbol, p.side, p.qty, p.entry, p.realized, upnl, "isolated", p.isolated_wallet
                        )
                    )
                p.update_ms = now_ms
                paid.append(FundingPayment(acct.name, symbol, p.side, amount, rate, mark, now_ms))
            acct.update_ms = now_ms
            wallet = q8(acct.cross_wallet + sum(p.isolated_wallet for p in acct.positions))
            self._emit(
                acct.name,
                events.account_update(
                    now_ms, "FUNDING_FEE", events.BalanceDelta(wallet, acct.cross_wallet, q8(total)), iso
                ),
            )
        self.funding_payments += paid
        return paid
