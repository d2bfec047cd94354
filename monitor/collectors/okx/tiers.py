"""OKX's tiers for the account stage: one open-ended bracket per held symbol at `m + f` (see account.py).

`m` is the maintenance rate of the tier holding the position's CONTRACTS in its `tdMode`
(`risk.okx_margin.okx_position_tier`), `f` the account's SWAP taker rate (the liquidation fee).
With `cum = 0` the stage's `notional·mmr − cum` is OKX's requirement `N·(m + f)` at every price, so
its margin ratio and LPs are OKX's. Several legs of one symbol (hedge mode, cross beside isolated)
share one record: the highest rate of them is used (the conservative one) and the case is logged.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import structlog

from monitor.clock import NS_PER_S, Clock
from monitor.collectors.ccxt_rest import RestCaller
from monitor.collectors.okx.margin_wire import okx_tier_ladders, parse_okx_position_tiers
from monitor.collectors.okx.wire import okx_inst_id
from monitor.collectors.tier_reply import ladder
from monitor.records import Bracket, LeverageTiers, Position
from monitor.risk.okx_margin import OkxTiers, okx_position_tier, okx_tier_table

__all__ = ["DEFAULT_TAKER", "OkxTierBook"]

log = structlog.get_logger(__name__)
DEFAULT_TAKER = 0.0005  # Lv1 SWAP taker, when the account's rate cannot be read
REFRESH_S = 600.0


def _family(symbol: str) -> str:
    return okx_inst_id(symbol).removesuffix("-SWAP")


class OkxTierBook:
    def __init__(self, venue: str, account: str) -> None:
        self._venue, self._account = venue, account
        self._ladders: dict[tuple[str, str], OkxTiers] = {}  # (family, tdMode) → ladder
        self._read_ns: dict[tuple[str, str], int] = {}
        self._taker: float | None = None
        self._sent: dict[str, float] = {}  # symbol → the rate last published

    async def _ladder(
        self, ex: Any, rest: RestCaller, family: str, mode: str, now_ns: int
    ) -> OkxTiers | None:
        key = (family, mode)
        if key not in self._ladders or now_ns - self._read_ns[key] > REFRESH_S * NS_PER_S:
            params = {"instType": "SWAP", "tdMode": mode, "instFamily": family}
            rows = parse_okx_position_tiers(await rest.call(ex, ex.publicGetPublicPositionTiers, params))
            self._ladders.update({(f, mode): t for f, t in okx_tier_ladders(rows).items()})
            self._read_ns[key] = now_ns
        return self._ladders.get(key)

    async def _taker_rate(self, ex: Any, rest: RestCaller) -> float:
        if self._taker is None:
            body = await rest.call(ex, ex.privateGetAccountTradeFee, {"instType": "SWAP"})
            rows = body.get("data") if isinstance(body, dict) else None
            try:
                self._taker = abs(float(rows[0]["taker"])) if rows else DEFAULT_TAKER
            except (KeyError, TypeError, ValueError):
                self._taker = DEFAULT_TAKER
        return self._taker

    async def records(
        self,
        ex: Any,
        rest: RestCaller,
        positions: Sequence[Position],
        ct_vals: Mapping[str, float],
        clock: Clock,
    ) -> list[LeverageTiers]:
        """The tiers records to publish for these legs: only the symbols whose rate changed."""
        now = clock.now_ns()
        fee = await self._taker_rate(ex, rest)
        rates: dict[str, list[tuple[float, float]]] = {}
        for p in positions:
            t = await self._ladder(ex, rest, _family(p.symbol), p.margin_mode, now)
            if t is None or p.symbol not in ct_vals:
                continue
            _tier, rate = okx_position_tier(
                okx_tier_table([t]), np.zeros(1, dtype=np.intp), np.array([abs(p.qty) / ct_vals[p.symbol]])
            )
            idx = int(_tier[0])
            if idx >= 0 and math.isfinite(float(rate[0])):
                rates.setdefault(p.symbol, []).append((float(rate[0]) + fee, float(t.max_leverage[idx])))
        out = []
        for symbol, found in rates.items():
            if len(found) > 1:
                log.info(
                    "one tier record for several legs: the highest rate", account=self._account, symbol=symbol
                )
            mmr, lever = max(found)
            if self._sent.get(symbol) == mmr:
                continue
            self._sent[symbol] = mmr
            bracket = Bracket(floor=0.0, cap=math.inf, mmr=mmr, cum=0.0, max_leverage=lever)
            out.append(
                ladder((bracket,), venue=self._venue, account=self._account, symbol=symbol, ts_recv_ns=now)
            )
        return out
