"""Binance USDⓈ-M (+ its spot books): native streams for markets, signed REST through ccxt.

Market data takes the fast path (websockets + one msgspec decoder); account state comes from
ccxt's signed REST calls, because ccxt already signs, paces and classifies errors the way the venue
expects. Account snapshots are all-or-nothing: if either call fails, nothing is stored, since a
snapshot without positions would read as "every position closed".
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import ccxt.async_support as ccxt_async
import structlog

from monitor.clock import Clock
from monitor.collectors.base import CollectorStats, RecordSink, run_ws_stream
from monitor.collectors.binanceusdm_wire import (
    parse_account_balances,
    parse_combined_frame,
    parse_funding_info,
    parse_leverage_brackets,
    parse_position_risk,
    parse_premium_index,
)
from monitor.collectors.ccxt_urls import point_binance_at
from monitor.errors import ParseError
from monitor.records import AccountSnapshot, FeedState, FeedStatus
from monitor.secret import Secret, redact_text

__all__ = ["BinanceEndpoints", "BinanceUsdmCollector"]

log = structlog.get_logger(__name__)

REFERENCE_REFRESH_S = 600.0  # brackets and funding intervals change rarely, but they do change


@dataclass(frozen=True, slots=True)
class BinanceEndpoints:
    """Where the venue lives; None keeps ccxt's production URLs."""

    futures_rest: str | None = None
    futures_ws: str = "wss://fstream.binance.com"
    spot_rest: str | None = None
    spot_ws: str = "wss://stream.binance.com:9443"


class BinanceUsdmCollector:
    def __init__(
        self,
        *,
        venue: str,
        endpoints: BinanceEndpoints,
        symbols: tuple[str, ...],
        spot_symbols: tuple[str, ...],
        accounts: dict[str, tuple[Secret, Secret]],
        sink: RecordSink,
        clock: Clock,
        poll_s: float,
        stale_after_s: float,
    ) -> None:
        self.venue = venue
        self.endpoints = endpoints
        self.symbols = symbols
        self.spot_symbols = spot_symbols
        self.accounts = accounts
        self.sink = sink
        self.clock = clock
        self.poll_s = poll_s
        self.stale_after_s = stale_after_s
        self.stats = CollectorStats(venue)
        self._secrets = [s for pair in accounts.values() for s in pair]

    # ---------------------------------------------------------------- wiring
    def tasks(self) -> dict[str, Any]:
        """Named coroutine factories for the supervisor: one job each, restarted on crash."""
        t: dict[str, Any] = {
            f"{self.venue}.markets": self._futures_stream,
            f"{self.venue}.reference": self._reference_loop,
        }
        if self.spot_symbols:
            t[f"{self.venue}.spot"] = self._spot_stream
        for name in self.accounts:
            t[f"{self.venue}.account.{name}"] = lambda name=name: self._account_loop(name)
        return t

    def _client(self, account: str | None = None) -> Any:
        opts: dict[str, Any] = {"options": {"fetchCurrencies": False}, "enableRateLimit": True}
        if account is not None:
            key, secret = self.accounts[account]
            opts |= {"apiKey": key.reveal(), "secret": secret.reveal()}
        ex = ccxt_async.binanceusdm(opts)
        point_binance_at(ex, self.endpoints.futures_rest, self.endpoints.spot_rest)
        return ex

    def _status(self, stream: str, state: FeedState, reason: str) -> None:
        now = self.clock.now_ns()
        self.sink.put(
            FeedStatus(
                venue=self.venue, ts_event_ns=now, ts_recv_ns=now, stream=stream, state=state, reason=reason
            )
        )

    def _redact(self, exc: BaseException) -> str:
        return redact_text(f"{type(exc).__name__}: {exc}", self._secrets)[:300]

    # ---------------------------------------------------------------- streams
    async def _futures_stream(self) -> None:
        streams = "/".join(f"{s.lower()}@markPrice@1s" for s in self.symbols)
        await run_ws_stream(
            name=f"{self.venue}.markets",
            url=f"{self.endpoints.futures_ws.rstrip('/')}/market/stream?streams={streams}",
            streams=[f"mark:{s}" for s in self.symbols],
            parse=lambda raw, now: parse_combined_frame(raw, now, self.venue, "perp"),
            sink=self.sink,
            clock=self.clock,
            stats=self.stats,
            stale_after_s=self.stale_after_s,
        )

    async def _spot_stream(self) -> None:
        streams = "/".join(f"{s.lower()}@bookTicker" for s in self.spot_symbols)
        await run_ws_stream(
            name=f"{self.venue}.spot",
            url=f"{self.endpoints.spot_ws.rstrip('/')}/stream?streams={streams}",
            streams=[f"book:spot:{s}" for s in self.spot_symbols],
            parse=lambda raw, now: parse_combined_frame(raw, now, self.venue, "spot"),
            sink=self.sink,
            clock=self.clock,
            stats=self.stats,
            stale_after_s=self.stale_after_s,
        )

    # ---------------------------------------------------------------- REST
    async def _reference_loop(self) -> None:
        """Funding intervals (per symbol, from the venue) and a REST seed of marks."""
        ex = self._client()
        try:
            while True:
                try:
                    now = self.clock.now_ns()
                    premium = await ex.fapiPublicGetPremiumIndex()
                    wanted = set(self.symbols)
                    for rec in parse_premium_index(premium, self.venue, self.clock.now_ns()):
                        if rec.symbol in wanted:
                            self.sink.put(rec)
                    info = await ex.fapiPublicGetFundingInfo()
                    for fi in parse_funding_info(info, self.symbols, self.venue, now):
                        self.sink.put(fi)
                    delay = REFERENCE_REFRESH_S
                except ParseError as exc:
                    self.stats.drop(exc.reason)
                    delay = 30.0
                except Exception as exc:  # ccxt raises its own tree; classify by what we can do
                    log.warning("reference data failed", venue=self.venue, error=self._redact(exc))
                    delay = 10.0
                await self.clock.sleep(delay)
        finally:
            await ex.close()

    async def _account_loop(self, account: str) -> None:
        stream = f"account:{account}"
        ex = self._client(account)
        next_brackets = 0
        self._status(stream, FeedState.DOWN, "connecting")
        try:
            while True:
                try:
                    if self.clock.monotonic_ns() >= next_brackets:
                        raw = await ex.fapiPrivateGetLeverageBracket()
                        for tiers in parse_leverage_brackets(raw, account, self.venue, self.clock.now_ns()):
                            self.sink.put(tiers)
                        next_brackets = self.clock.monotonic_ns() + int(REFERENCE_REFRESH_S * 1e9)
                    risk, acct = await asyncio.gather(
                        ex.fapiPrivateV3GetPositionRisk(), ex.fapiPrivateV3GetAccount()
                    )
                    now = self.clock.now_ns()
                    self.sink.put(
                        AccountSnapshot(
                            venue=self.venue,
                            account=account,
                            ts_event_ns=now,
                            ts_recv_ns=now,
                            positions=parse_position_risk(risk),
                            balances=parse_account_balances(acct),
                        )
                    )
                    self.stats.messages[stream] += 1
                except ParseError as exc:
                    self.stats.drop(exc.reason)
                    log.warning("account snapshot dropped", account=account, reason=exc.reason)
                except Exception as exc:
                    self._status(stream, FeedState.DOWN, type(exc).__name__)
                    log.warning("account poll failed", account=account, error=self._redact(exc))
                await self.clock.sleep(self.poll_s)
        finally:
            await ex.close()
