"""Helpers for tests that run a collector against the simulator (shipped beside the code).

`running_collector` starts the simulator, one venue's collector and its supervised tasks, with a
recording store: tests inject the simulator's faults and read what perpmon saw, the figures the
evaluator computes from it, and whether its account picture equals the simulator's.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import msgspec

from monitor.clock import LiveClock
from monitor.collectors import build_collector
from monitor.collectors.base import Collector
from monitor.config import Config, Secrets, SimulatorConfig, parse_config
from monitor.evaluation.feeds import expected_streams
from monitor.evaluator import Evaluator
from monitor.records import AccountSnapshot, FeedStatus, Record
from monitor.sim.server import Simulator
from monitor.sim.testing import TEST_KEYS, fast_config, running_simulator
from monitor.store.state import StateStore
from monitor.supervise import Supervisor
from monitor.venues import endpoints

__all__ = [
    "Harness",
    "account_state",
    "first_stale_verdict",
    "running_collector",
    "venue_state",
    "wait_until",
]

ENV = {
    "SIM_ALICE_KEY": TEST_KEYS["alice"][0].reveal(),
    "SIM_ALICE_SECRET": TEST_KEYS["alice"][1].reveal(),
    "SIM_BOB_KEY": TEST_KEYS["bob"][0].reveal(),
    "SIM_BOB_SECRET": TEST_KEYS["bob"][1].reveal(),
}


class RecordingStore(StateStore):
    """A StateStore that also keeps every record, in order, for assertions on what arrived."""

    def __init__(self) -> None:
        super().__init__(grid_step_s=1.0, history_points=256)
        self.records: list[Record] = []

    def put(self, record: Record) -> None:
        self.records.append(record)
        super().put(record)

    def of(self, kind: type[Any]) -> list[Any]:
        return [r for r in self.records if isinstance(r, kind)]

    def statuses(self, stream: str) -> list[FeedStatus]:
        return [r for r in self.records if isinstance(r, FeedStatus) and r.stream == stream]


@dataclass
class Harness:
    sim: Simulator
    cfg: Config
    store: RecordingStore
    collector: Collector
    clock: LiveClock = field(default_factory=LiveClock)
    started_ns: int = 0

    def figure(self, name: str, **labels: str) -> float:
        """One figure's value as the evaluator computes it now (NaN when absent)."""
        return self.figures(name, **labels)[name]

    def figures(self, *names: str, **labels: str) -> dict[str, float]:
        """Several figures from one evaluation, so they describe the same instant (NaN when absent)."""
        now = self.clock.now_ns()
        figs = Evaluator(self.cfg, started_ns=self.started_ns).evaluate(self.store.snapshot(now), now)
        out = dict.fromkeys(names, float("nan"))
        for key, fig in figs.items.items():
            if key.name in out and all(key.labels().get(k) == v for k, v in labels.items()):
                out[key.name] = fig.value
        return out

    def stale_limit_s(self, venue: str, stream: str) -> float:
        """The silence a stream is allowed before it is stale, from the same table the evaluator uses."""
        return expected_streams(self.cfg)[(venue, stream)]

    def stale_after_its_limit(self, venue: str, stream: str) -> bool | None:
        """None while fresh; once stale, whether the silence had reached the stream's limit.

        A stale flag raised before the limit is a false alarm; the upper side (how soon after the
        limit) depends on the machine's load, so tests bound it only with their wait.
        """
        got = self.figures("feed_stale", "feed_last_message_age_seconds", venue=venue, stream=stream)
        if got["feed_stale"] != 1.0:
            return None
        return got["feed_last_message_age_seconds"] >= self.stale_limit_s(venue, stream)


def account_state(snap: AccountSnapshot | None) -> tuple[dict[Any, Any], dict[str, Any]]:
    """The parts of an account both sides know exactly: legs and wallets."""
    if snap is None:
        return {}, {}
    legs = {
        (p.symbol, p.side): (p.qty, p.entry_price, p.margin_mode, p.isolated_wallet) for p in snap.positions
    }
    cash = {b.asset: (b.wallet_balance, b.cross_wallet_balance) for b in snap.balances}
    return legs, cash


def venue_state(sim: Simulator, account: str) -> tuple[dict[Any, Any], dict[str, Any]]:
    """The same parts from the simulator's own engine."""
    legs = {
        (p.symbol, p.side): (
            p.qty,
            p.entry,
            p.margin_mode,
            p.isolated_wallet if p.margin_mode == "isolated" else 0.0,
        )
        for p in sim.engine.positions(account)
    }
    s = sim.engine.summary(account)
    return legs, {"USDT": (s.wallet_balance, s.cross_wallet)}


async def wait_until(cond: Callable[[], bool], limit_s: float, what: str, step_s: float = 0.02) -> float:
    """Poll `cond`; return the seconds it took, or fail naming `what`."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    while not cond():
        if loop.time() - start > limit_s:
            raise AssertionError(f"timed out after {limit_s}s waiting for {what}")
        await asyncio.sleep(step_s)
    return loop.time() - start


def harness_config(
    sim: SimulatorConfig, venue: Mapping[str, Any], accounts: Mapping[str, Mapping[str, Any]]
) -> tuple[Config, Secrets]:
    data = {
        "simulator": msgspec.to_builtins(sim),
        # no history backfill unless a test asks: it is tested on its own, and a 4,096-bar fill at
        # every start only slows the fault tests and shifts their timing
        "venues": [
            {"name": "binance", "simulator": True, "symbols": ["BTCUSDT"], "backfill": False, **venue}
        ],
        "accounts": [
            {
                "name": name,
                "venue": "binance",
                "api_key_env": f"SIM_{name.upper()}_KEY",
                "api_secret_env": f"SIM_{name.upper()}_SECRET",
                **extra,
            }
            for name, extra in accounts.items()
        ],
    }
    return parse_config(data, ENV)


@contextlib.asynccontextmanager
async def running_collector(
    *,
    venue: Mapping[str, Any] | None = None,
    sim: Mapping[str, Any] | None = None,
    accounts: Mapping[str, Mapping[str, Any]] | None = None,
    check_keys: bool = True,
) -> AsyncIterator[Harness]:
    """Simulator + one venue's collector, tasks supervised; bob (read-only) watched by default."""
    sim_cfg = fast_config(**(sim or {}))
    cfg, secrets = harness_config(sim_cfg, venue or {}, accounts if accounts is not None else {"bob": {}})
    clock = LiveClock()
    async with running_simulator(sim_cfg, clock=clock) as s:
        store = RecordingStore()
        collector = build_collector(cfg.venues[0], cfg, secrets, endpoints(cfg.venues[0], s), store, clock)
        h = Harness(s, cfg, store, collector, clock)
        h.started_ns = clock.now_ns()
        if check_keys:
            await collector.check_keys()
        sup = Supervisor(clock)
        for name, factory in collector.tasks().items():
            sup.spawn(name, factory)
        try:
            yield h
        finally:
            await sup.stop()


async def first_stale_verdict(h: Harness, venue: str, stream: str, timeout_s: float = 5.0) -> bool:
    """Wait for the stream to go stale; whether the silence had reached its limit when it did."""
    seen: list[bool] = []

    def stale() -> bool:
        verdict = h.stale_after_its_limit(venue, stream)
        if verdict is not None:
            seen.append(verdict)
        return bool(seen)

    await wait_until(stale, timeout_s, f"{stream} stale")
    return seen[0]
