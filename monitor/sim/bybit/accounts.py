"""The Bybit account engine: unified-account wallets and linear positions under Bybit's margin model.

An account is in one margin mode, as a Bybit unified account is (`/v5/account/info` `marginMode`):
REGULAR_MARGIN (cross, every position shares the USDT wallet) or ISOLATED_MARGIN (each position
holds its own `positionBalance` = initial margin at entry + any margin added, i.e. the config's
`isolated_wallet`; the wallet holds the rest). Figures follow `bybit/margin.py` (MM on the mark
since 2025-09-02, so an isolated `liqPrice` is still fixed but `positionMM` moves); `liqPrice` is the
one the venue reports (rounded to the tick towards the mark) and is also the trigger: an isolated
position is taken over when its mark crosses it (the balance is lost, closing at the bankruptcy
price), a cross account when any position's mark crosses its own liqPrice, i.e. equity falls to
total maintenance margin (the positions close at mark).
Funding is paid from/to the wallet (cross) or the position balance (isolated) and counts as
realised PnL. State changes go to subscribed sinks as (account, topic, rows) for the private socket.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import structlog

from monitor.config import SimAccountConfig, SimPositionConfig
from monitor.errors import ConfigError
from monitor.sim.book import Account, Position, PositionSide, holding, open_account, pay_funding
from monitor.sim.bybit.margin import (
    bust_price,
    cross_bust_price,
    cross_liq_price,
    isolated_liq_price,
    position_figures,
    round_liq_price,
)
from monitor.sim.bybit.symbols import BybitSpec, bybit_spec, tier_for_value
from monitor.sim.bybit.views import (
    BybitLiquidation,
    BybitPositionView,
    BybitSink,
    BybitWalletView,
    MarginMode,
)
from monitor.sim.numfmt import q8

__all__ = ["BybitAccountEngine", "bybit_account_from_config"]

_IDX: dict[str, int] = {"BOTH": 0, "LONG": 1, "SHORT": 2}
_log = structlog.get_logger()


@dataclass(slots=True)
class _Extra:
    margin_mode: MarginMode
    seq: dict[tuple[str, str], int] = field(default_factory=dict)


def bybit_account_from_config(
    cfg: SimAccountConfig, path: str, first_mark: Callable[[str], float], now_ms: int
) -> Account:
    """Open a Bybit account, refusing what the venue would not allow (ConfigError at `path`)."""

    def leverage_cap(symbol: str, notional: float) -> tuple[float, str]:
        spec = bybit_spec(symbol)
        assert spec is not None  # `unlisted` refused it first
        tier = tier_for_value(spec.tiers, notional)
        return tier.max_leverage, f"the {tier.max_leverage:g}x of risk tier {tier.id}"

    def one_margin_mode(positions: list[Position]) -> None:
        if len({p.margin_mode for p in positions}) > 1:
            raise ConfigError(f"{path}.positions", "a Bybit unified account is all cross or all isolated")

    def balance(p: SimPositionConfig, entry: float) -> float:
        """positionBalance: the initial margin at entry plus the margin added (isolated only)."""
        if p.margin_mode != "isolated":
            return 0.0
        return q8(abs(p.qty) * entry / p.leverage + p.isolated_wallet)

    return open_account(
        cfg,
        path,
        first_mark,
        now_ms,
        unlisted=lambda symbol: (
            None if bybit_spec(symbol) is not None else "the simulated Bybit does not list"
        ),
        leverage_cap=leverage_cap,
        balance=balance,
        check=one_margin_mode,
    )


class BybitAccountEngine:
    def __init__(
        self,
        accounts: Sequence[SimAccountConfig],
        *,
        first_mark: Callable[[str], float],
        marks: Mapping[str, float],
        now_ms: int,
    ) -> None:
        self.marks: dict[str, float] = dict(marks)
        self.accounts: dict[str, Account] = {}
        self._extra: dict[str, _Extra] = {}
        for i, a in enumerate(accounts):
            if a.venue != "bybit":  # Binance accounts: monitor/sim/binance/accounts.py
                continue
            acct = bybit_account_from_config(a, f"simulator.accounts[{i}]", first_mark, now_ms)
            self.accounts[a.name] = acct
            isolated = any(p.margin_mode == "isolated" for p in acct.positions)
            self._extra[a.name] = _Extra("ISOLATED_MARGIN" if isolated else "REGULAR_MARGIN")
        self.liquidations: list[BybitLiquidation] = []
        self._sinks: list[BybitSink] = []
        self._seq = 7_000_000_000

    # --- reading -------------------------------------------------------------------------
    def margin_mode(self, name: str) -> MarginMode:
        return self._extra[name].margin_mode

    def _spec(self, symbol: str) -> BybitSpec:
        spec = bybit_spec(symbol)
        assert spec is not None  # positions are validated on entry
        return spec

    def _cross_state(self, acct: Account) -> tuple[float, float]:
        """(cross equity, Σ maintenance margin of cross positions)."""
        equity, mm = acct.cross_wallet, 0.0
        for p in acct.positions:
            if p.margin_mode == "cross":
                f = position_figures(
                    p.qty, p.entry, self.marks[p.symbol], p.leverage, self._spec(p.symbol).tiers
                )
                equity += f.upnl
                mm += f.mm
        return equity, mm

    def _view(self, acct: Account, p: Position, equity: float, total_mm: float) -> BybitPositionView:
        spec = self._spec(p.symbol)
        mark = self.marks[p.symbol]
        isolated = p.margin_mode == "isolated"
        f = position_figures(p.qty, p.entry, mark, p.leverage, spec.tiers, isolated=isolated)
        if isolated:
            balance = p.isolated_wallet
            lp = isolated_liq_price(p.qty, p.entry, balance, spec.tiers)
            bust = bust_price(p.qty, p.entry, balance)
        else:
            balance = f.im
            lp = cross_liq_price(p.qty, mark, equity, total_mm, spec.tiers)
            bust = cross_bust_price(p.qty, mark, equity)
        seq = self._extra[acct.name].seq.get((p.symbol, p.side), self._seq)
        return BybitPositionView(
            symbol=p.symbol,
            position_idx=_IDX[p.side],
            side=("Buy" if p.qty > 0 else "Sell") if p.qty else "",
            qty=p.qty,
            size=abs(p.qty),
            avg_price=p.entry,
            leverage=p.leverage,
            isolated=p.margin_mode == "isolated",
            mark=mark,
            value=q8(f.value),
            upnl=q8(f.upnl),
            im=q8(f.im),
            im_mp=q8(f.im_mp),
            mm=q8(f.mm),
            mm_mp=q8(f.mm_mp),
            balance=q8(balance),
            liq_price=round_liq_price(lp, p.qty, spec.tick),
            bust_price=round_liq_price(bust, p.qty, spec.tick),
            risk_id=f.tier.id,
            risk_limit=f.tier.limit,
            mmr=f.tier.mmr,
            realised=p.realized,
            created_ms=acct.created_ms,
            updated_ms=p.update_ms,
            seq=seq,
        )

    def _isolated_liq_price(self, p: Position) -> float:
        """The published liqPrice of an isolated position: no mark in it, it moves only with its balance."""
        spec = self._spec(p.symbol)
        return round_liq_price(
            isolated_liq_price(p.qty, p.entry, p.isolated_wallet, spec.tiers), p.qty, spec.tick
        )

    def _crossed_cross_lp(self, p: Position, equity: float, total_mm: float) -> bool:
        """A cross position's mark at or through its published (tick-rounded) liqPrice."""
        if p.margin_mode != "cross":
            return False
        mark = self.marks[p.symbol]
        spec = self._spec(p.symbol)
        lp = round_liq_price(cross_liq_price(p.qty, mark, equity, total_mm, spec.tiers), p.qty, spec.tick)
        return bool(lp) and (mark <= lp if p.qty > 0 else mark >= lp)

    def positions(self, name: str) -> list[BybitPositionView]:
        acct = self.accounts[name]
        equity, mm = self._cross_state(acct)
        return [self._view(acct, p, equity, mm) for p in acct.positions]

    def flat(self, name: str, symbol: str, side: PositionSide = "BOTH") -> BybitPositionView:
        """The row the venue lists for a symbol asked for by name while nothing is open on it."""
        acct = self.accounts[name]
        equity, mm = self._cross_state(acct)
        mode: Literal["cross", "isolated"] = (
            "isolated" if self.margin_mode(name) == "ISOLATED_MARGIN" else "cross"
        )
        p = Position(symbol, side, 0.0, 0.0, mode, 0.0, acct.leverage.get(symbol, 10.0), acct.update_ms)
        return self._view(acct, p, equity, mm)

    def position(self, name: str, symbol: str, side: PositionSide = "BOTH") -> BybitPositionView | None:
        return next(
            (v for v in self.positions(name) if v.symbol == symbol and v.position_idx == _IDX[side]), None
        )

    def wallet(self, name: str) -> BybitWalletView:
        acct = self.accounts[name]
        mode = self.margin_mode(name)
        upnl = im = mm = balances = 0.0
        for p in acct.positions:
            spec = self._spec(p.symbol)
            iso = p.margin_mode == "isolated"
            f = position_figures(p.qty, p.entry, self.marks[p.symbol], p.leverage, spec.tiers, isolated=iso)
            upnl += f.upnl
            im += f.im
            mm += f.mm
            balances += p.isolated_wallet
        wallet = acct.cross_wallet + balances
        equity = wallet + upnl
        if mode == "REGULAR_MARGIN":
            available = equity - im
            margin_balance = equity
        else:  # isolated: the free wallet is what is available; each position carries its own margin
            available = acct.cross_wallet
            margin_balance = balances + upnl
        return BybitWalletView(
            name=name,
            margin_mode=mode,
            wallet=q8(wallet),
            equity=q8(equity),
            upnl=q8(upnl),
            initial_margin=q8(im),
            maint_margin=q8(mm),
            available=q8(max(0.0, available)),
            im_rate=_rate(im, margin_balance),
            mm_rate=_rate(mm, margin_balance),
            realised=q8(sum(p.realized for p in acct.positions)),
            update_ms=acct.update_ms,
        )

    # --- driving -------------------------------------------------------------------------
    def subscribe(self, sink: BybitSink) -> None:
        self._sinks.append(sink)

    def _emit(self, name: str, changed: list[BybitPositionView]) -> None:
        for sink in self._sinks:
            if changed:
                sink(name, "position", changed)
            sink(name, "wallet", self.wallet(name))

    def _bump(self, name: str, p: Position, now_ms: int) -> None:
        self._seq += 1
        self._extra[name].seq[(p.symbol, p.side)] = self._seq
        p.update_ms = now_ms

    def set_position(
        self,
        name: str,
        symbol: str,
        qty: float,
        *,
        entry: float | None = None,
        leverage: float = 10.0,
        side: PositionSide = "BOTH",
        extra_margin: float = 0.0,
        now_ms: int,
    ) -> None:
        """Script a position change (open, resize, close with qty 0) and push it to the account's sockets."""
        acct = self.accounts[name]
        spec = bybit_spec(symbol)
        if spec is None:
            raise KeyError(symbol)
        price = q8(entry) if entry is not None else self.marks[symbol]
        old = next((p for p in acct.positions if p.symbol == symbol and p.side == side), None)
        if old is not None:
            acct.positions.remove(old)
        isolated = self.margin_mode(name) == "ISOLATED_MARGIN"
        pos = Position(
            symbol,
            side,
            q8(qty),
            price,
            "isolated" if isolated else "cross",
            q8(abs(qty) * price / leverage + extra_margin) if isolated else 0.0,
            leverage,
            now_ms,
        )
        self._bump(name, pos, now_ms)
        acct.update_ms = now_ms
        equity, mm = self._cross_state(acct)
        if qty:
            acct.positions.append(pos)
            equity, mm = self._cross_state(acct)
        self._emit(name, [self._view(acct, pos, equity, mm)])

    def on_marks(self, marks: Mapping[str, float], now_ms: int) -> list[BybitLiquidation]:
        self.marks.update(marks)
        done: list[BybitLiquidation] = []
        for acct in self.accounts.values():
            done += self._liquidate(acct, now_ms)
        self.liquidations += done
        return done

    def _liquidate(self, acct: Account, now_ms: int) -> list[BybitLiquidation]:
        out: list[BybitLiquidation] = []
        closed: list[BybitPositionView] = []
        equity, mm = self._cross_state(acct)
        cross_breached = mm > 0 and (
            equity <= mm or any(self._crossed_cross_lp(p, equity, mm) for p in acct.positions)
        )
        for p in list(acct.positions):
            mark = self.marks[p.symbol]
            if p.margin_mode == "isolated":
                lp = self._isolated_liq_price(p)
                if not lp or (mark > lp if p.qty > 0 else mark < lp):
                    continue
                view = self._view(acct, p, equity, mm)
                loss, exec_price = p.isolated_wallet, view.bust_price
                p.realized = q8(p.realized - loss)
            elif cross_breached:
                view = self._view(acct, p, equity, mm)
                loss, exec_price = -view.upnl, mark
                acct.cross_wallet = q8(acct.cross_wallet + view.upnl)
                p.realized = q8(p.realized + view.upnl)
            else:
                continue
            self._seq += 1
            out.append(
                BybitLiquidation(
                    acct.name,
                    p.symbol,
                    view.side,
                    p.qty,
                    mark,
                    view.liq_price,
                    q8(loss),
                    now_ms,
                    exec_price,
                    f"sim-liq-{self._seq}",
                )
            )
            acct.positions.remove(p)
            self._bump(acct.name, p, now_ms)
            p.qty = 0.0
            p.isolated_wallet = 0.0
            closed.append(self._view(acct, p, equity, mm))
            _log.info("sim_bybit_liquidation", account=acct.name, symbol=p.symbol, price=mark)
        if closed:
            acct.update_ms = now_ms
            for sink in self._sinks:
                sink(acct.name, "execution", out)
            self._emit(acct.name, closed)
        return out

    def settle_funding(self, symbol: str, rate: float, mark: float, now_ms: int) -> dict[str, float]:
        """Pay `−q × mark × rate` to each position on `symbol`; returns what each account received."""
        paid: dict[str, float] = {}
        for acct, legs in holding(self.accounts.values(), symbol):
            for p in legs:
                amount = pay_funding(acct, p, mark, rate)
                p.realized = q8(p.realized + amount)
                self._bump(acct.name, p, now_ms)
                paid[acct.name] = q8(paid.get(acct.name, 0.0) + amount)
            acct.update_ms = now_ms
            equity, mm = self._cross_state(acct)
            self._emit(acct.name, [self._view(acct, p, equity, mm) for p in legs])
        return paid


def _rate(margin: float, balance: float) -> float:
    """A margin rate as published (8 decimals); inf when the balance is gone."""
    if margin <= 0:
        return 0.0
    return q8(margin / balance) if balance > 0 else float("inf")
