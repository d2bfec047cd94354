"""The simulated OKX market: the Binance replay's prices with OKX's own premium, mark and funding.

One crash drives every venue. OKX's index is the same spot composite; its last and mark are the
Binance perp's times `1 + spread` (a per-symbol constant of a few bps, `symbols.py`), so the three
venues' marks move together and differ by a venue premium. Funding is OKX's formula (its help page
"Funding rate calculation", the same shape as Binance's): `F = clamp(P + clamp(I − P, ±0.05 %),
±maxFundingRate)`, with P the premium index (Binance's impact premium plus the spread) and I the
interest rate; `fundingRate` is the forecast for the settlement at `fundingTime` (the *upcoming*
one, venues-next §c), `nextFundingTime` the one after. Simplification: P is the premium now, not
its average over the interval, so the forecast moves with the tick (perpmon reads the figure, it
does not re-derive it).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from monitor.clock import Clock
from monitor.sim.funding import next_funding_ms, settle_due
from monitor.sim.market import Market
from monitor.sim.numfmt import q8
from monitor.sim.okx.symbols import OKX_SYMBOLS, OkxSpec
from monitor.sim.quotes import floor_to

__all__ = ["CLAMP", "OkxMarket", "OkxQuote", "okx_funding_rate"]

CLAMP = 0.0005  # the ±0.05 % band on interest − premium


@dataclass(frozen=True, slots=True)
class OkxQuote:
    symbol: str
    time_ms: int
    mark: float
    index: float
    last: float
    bid: float
    bid_size: float  # contracts
    ask: float
    ask_size: float
    spot_bid: float
    spot_ask: float
    premium: float
    funding_rate: float  # forecast for the settlement at `funding_ms`
    funding_ms: int  # the upcoming settlement
    open_24h: float
    high: float
    low: float
    volume: float  # contracts


def okx_funding_rate(premium: float, interest: float, cap: float) -> float:
    """OKX's rate: `clamp(P + clamp(I − P, ±0.05 %), ±cap)`, quantized to 8 decimals like the venue's."""
    rate = premium + min(max(interest - premium, -CLAMP), CLAMP)
    return q8(min(max(rate, -cap), cap))


class OkxMarket:
    def __init__(self, base: Market, clock: Clock, symbols: tuple[OkxSpec, ...] = OKX_SYMBOLS) -> None:
        self.base = base
        self._clock = clock
        self.specs = {s.symbol: s for s in symbols if s.symbol in base.specs}
        now_ms = self._now_ms()
        self._next = {s: next_funding_ms(now_ms, spec.funding_hours) for s, spec in self.specs.items()}
        self.quotes: dict[str, OkxQuote] = {}
        self._publish()

    def _now_ms(self) -> int:
        return self._clock.now_ns() // 1_000_000

    def _k(self, symbol: str) -> float:
        return 1 + self.specs[symbol].spread_bps / 1e4

    def mark_of(self, symbol: str, binance_mark: float) -> float:
        return round(binance_mark * self._k(symbol), 8)

    def first_mark(self, symbol: str) -> float:
        return self.mark_of(symbol, self.base.first_mark(symbol))

    def marks(self) -> dict[str, float]:
        return {s: q.mark for s, q in self.quotes.items()}

    def translate(self, binance_marks: dict[str, float]) -> dict[str, float]:
        return {s: self.mark_of(s, m) for s, m in binance_marks.items() if s in self.specs}

    def advance(self, binance_samples: list[dict[str, float]]) -> list[dict[str, float]]:
        """Call after `base.advance()`: OKX's mark samples for the same instants, quotes published."""
        self._publish()
        return [self.translate(m) for m in binance_samples] or [self.marks()]

    def due_settlements(self) -> list[tuple[str, int, float, float]]:
        """(symbol, funding time, rate, mark) for each settlement the clock has passed; the next begins."""
        return settle_due(
            self._next,
            self.quotes,
            lambda s: self.specs[s].funding_hours,
            self._now_ms(),
            lambda q, nxt: replace(q, funding_ms=nxt),
        )

    def _publish(self) -> None:
        now_ms = self._now_ms()
        for symbol, spec in self.specs.items():
            bq = self.base.quotes[symbol]
            k = self._k(symbol)
            mark = self.mark_of(symbol, bq.mark)
            bid = floor_to((bq.last or bq.mark) * k, spec.tick)
            premium = bq.premium_index + spec.spread_bps / 1e4
            prev = self.quotes.get(symbol)
            self.quotes[symbol] = OkxQuote(
                symbol=symbol,
                time_ms=now_ms,
                mark=mark,
                index=bq.index,
                last=bid,
                bid=bid,
                bid_size=round(bq.bid_qty / spec.ct_val, 2),
                ask=q8(bid + float(spec.tick)),
                ask_size=round(bq.ask_qty / spec.ct_val, 2),
                spot_bid=floor_to(bq.spot_bid, spec.spot_tick),
                spot_ask=floor_to(bq.spot_ask, spec.spot_tick),
                premium=q8(premium),
                funding_rate=okx_funding_rate(premium, bq.interest_rate, spec.funding_cap),
                funding_ms=self._next[symbol],
                open_24h=prev.open_24h if prev else mark,
                high=max(prev.high, mark) if prev else mark,
                low=min(prev.low, mark) if prev else mark,
                volume=round(bq.volume / spec.ct_val * 0.5, 2),
            )
