"""The columnar rule engine tells exactly what the per-figure engine told, tick for tick.

`tests/unit/rules/reference/` holds the engine and FigureUnavailable guard as they were before the
columnar path (issue 13), walking `Figures.items` one figure at a time. Both get the same random
runs: values wandering across thresholds and clears, NaN with reasons of every class (a state of
the book, warming up, a gap, none), ±inf, stale rows in and out of breach, keys appearing and
disappearing, rules with `match`, per-level `for`, hysteresis, repeats, a stale-feed source that
mutes the alerts of its stream, the heartbeat, and a config reload (`adopt`) midway. Every event,
and what `firing`, `announced` and `inhibited` say, must be equal, NaN where NaN.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from monitor.config import LevelConfig, RuleConfig
from monitor.evaluation.sink import FigureSink
from monitor.figure_columns import ShapeCache
from monitor.records import AlertEvent, Figure, FigureKey, Figures
from monitor.rules import RuleEngine, scan, unavailable
from tests.unit.rules.reference.engine import RuleEngine as ReferenceEngine

S = 1_000_000_000
T0 = 1_750_000_000 * S
VENUES = ("binance", "bybit")
SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT")
ACCOUNTS = ("desk", "degen", "hedge")
# reasons of every class: a state of the book, warming up, a gap, free text, none (the sink says why)
NAN_REASONS = (
    "not_liquidatable",
    "not_mean_reverting",
    "not_fitted_yet",
    "no_settlement_seen",
    "missing_tier",
    "no_mark",
    "stale: binance/mark:ETHUSDT",
    "",
)


def lv(
    severity: str, threshold: float, clear: float | None = None, for_s: float | None = None
) -> LevelConfig:
    return LevelConfig(severity=severity, threshold=threshold, clear=clear, for_s=for_s)  # type: ignore[arg-type]


RULES = (
    RuleConfig(name="StaleFeed", figure="feed_stale", op=">=", levels=(lv("warning", 1.0),), for_s=2.0),
    RuleConfig(
        name="Distance",
        figure="liquidation_distance_ratio",
        op="<",
        for_s=3.0,
        repeat_s=20.0,
        levels=(lv("warning", 0.4, 0.45), lv("critical", 0.2, 0.25, 0.0), lv("page", 0.05, 0.1, 0.0)),
    ),
    RuleConfig(
        name="DistanceEth",
        figure="liquidation_distance_ratio",
        op="<=",
        match={"symbol": "ETHUSDT"},
        levels=(lv("page", 0.1),),
        unavailable_for_s=5.0,
    ),
    RuleConfig(
        name="Margin",
        figure="margin_ratio",
        op=">",
        for_s=4.0,
        repeat_s=30.0,
        levels=(lv("warning", 0.6, 0.55), lv("critical", 0.8, 0.7)),
    ),
    RuleConfig(
        name="MarginDegen",
        figure="margin_ratio",
        op=">=",
        match={"account": "degen", "venue": "bybit"},
        levels=(lv("critical", 0.7, 0.65, 1.0),),
        unavailable_for_s=math.inf,
    ),
    RuleConfig(
        name="ZScore",
        figure="basis_zscore",
        op=">",
        for_s=1.0,
        levels=(lv("warning", 0.5, 0.3), lv("critical", 0.9, 0.85, 5.0)),
    ),
    RuleConfig(name="ZScoreNegative", figure="basis_zscore", op="<", levels=(lv("warning", 0.1, 0.2),)),
    RuleConfig(
        name="NoSuchLabel", figure="basis_zscore", op=">", match={"asset": "BTC"}, levels=(lv("info", 0.5),)
    ),
    RuleConfig(  # a higher level whose threshold the lowest's does not cover: crossed and entered differ
        name="Odd",
        figure="margin_ratio",
        op=">",
        repeat_s=9.0,
        levels=(lv("warning", 0.7, 0.65, 2.0), lv("critical", 0.5, 0.45, 4.0), lv("page", 0.9, 0.95)),
    ),
    RuleConfig(name="NoFigure", figure="var_usd", op=">", levels=(lv("warning", 1.0),)),
)
# the reload changes two rules and drops one: their alerts resolve, the others carry over
RELOADED = tuple(
    RuleConfig(**{**{f: getattr(r, f) for f in r.__struct_fields__}, "for_s": r.for_s + 1.0})
    if r.name in ("Margin", "ZScoreNegative")
    else r
    for r in RULES
    if r.name != "NoSuchLabel"
)


def universe() -> list[FigureKey]:
    keys = [FigureKey(name="feed_stale", venue=v, stream=f"mark:{s}") for v in VENUES for s in SYMBOLS]
    keys += [FigureKey(name="feed_stale", venue="binance", stream="account:desk")]
    keys += [
        FigureKey(name="liquidation_distance_ratio", venue=v, account=a, symbol=s, side="BOTH")
        for v in VENUES
        for a in ACCOUNTS
        for s in SYMBOLS
    ]
    keys += [FigureKey(name="margin_ratio", venue=v, account=a) for v in VENUES for a in ACCOUNTS]
    keys += [FigureKey(name="basis_zscore", venue=v, symbol=s) for v in VENUES for s in SYMBOLS]
    return keys


class World:
    """A random walk of every figure; each tick some keys come and go, some turn NaN or stale."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.keys = universe()
        n = len(self.keys)
        self.value = self.rng.uniform(0.0, 1.0, n)
        self.present = self.rng.random(n) < 0.9
        self.nan = np.zeros(n, bool)
        self.reason = [""] * n
        self.stale = np.zeros(n, bool)
        self.shapes = ShapeCache()
        self.step_s = float(self.rng.choice([0.5, 1.0, 2.0]))

    def tick(self) -> list[tuple[FigureKey, float, bool, str]]:
        rng, n = self.rng, len(self.keys)
        self.value += rng.normal(0.0, 0.12, n)
        np.clip(self.value, -0.3, 1.3, out=self.value)
        jump = rng.random(n) < 0.03
        self.value[jump] = rng.choice([math.inf, -math.inf, 0.0, 1.0, 0.5], int(jump.sum()))
        self.value[np.isinf(self.value) & (rng.random(n) < 0.3)] = 0.5
        flip = rng.random(n) < 0.05
        self.nan ^= flip
        for i in np.flatnonzero(flip & self.nan).tolist():
            self.reason[i] = str(rng.choice(NAN_REASONS))
        self.stale ^= rng.random(n) < 0.04
        self.present ^= rng.random(n) < 0.02
        out = []
        for i in np.flatnonzero(self.present).tolist():
            key = self.keys[i]
            if key.name == "feed_stale":
                v = 1.0 if self.value[i] > 0.8 else 0.0
                out.append((key, v, True, "silent" if v else ""))
                continue
            v = math.nan if self.nan[i] else float(self.value[i])
            why = self.reason[i] if self.nan[i] else ("stale_mark" if self.stale[i] else "")
            out.append((key, v, not self.stale[i], why))
        if rng.random() < 0.1:
            rng.shuffle(out)  # the same keys in another order
        return out

    def from_sink(self, rows: list[tuple[FigureKey, float, bool, str]], now: int) -> Figures:
        """Through FigureSink, as the evaluator makes them (keys reused across ticks)."""
        sink = FigureSink(now, self.shapes)
        by_name: dict[str, list[tuple[FigureKey, float, bool, str]]] = {}
        for row in rows:
            by_name.setdefault(row[0].name, []).append(row)
        for name, col in by_name.items():
            half = len(col) // 2
            sink.add_many(
                name,
                [k.labels() for k, *_ in col[:half]],
                [r[1] for r in col[:half]],
                [r[2] for r in col[:half]],
                [r[3] for r in col[:half]],
            )
            for key, v, ok, why in col[half:]:
                sink.add(name, v, key.labels(), fresh=ok, reason=why)
        return sink.figures()

    @staticmethod
    def from_items(rows: list[tuple[FigureKey, float, bool, str]], now: int) -> Figures:
        items = {k: Figure(value=v, unit="ratio", ts_ns=now, fresh=ok, reason=why) for k, v, ok, why in rows}
        return Figures(taken_at_ns=now, items=items)


def plain(ev: AlertEvent) -> tuple[Any, ...]:
    """An event as comparable values (NaN as text, so NaN equals NaN)."""
    return (
        ev.fingerprint,
        ev.labels,
        ev.annotations,
        ev.state,
        ev.severity,
        ev.starts_at_ns,
        ev.ends_at_ns,
        repr(ev.value),
        ev.event_ns,
    )


def engines(rules: tuple[RuleConfig, ...]) -> tuple[RuleEngine, ReferenceEngine]:
    kw = {"heartbeat_s": 30.0, "unavailable_for_s": 6.0, "unavailable_warmup_s": 25.0}
    return RuleEngine(rules, **kw), ReferenceEngine(rules, **kw)


@pytest.fixture(params=["numpy", "python"])
def scan_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Columns scanned with numpy's compares, or row by row in Python (the path of a few rows)."""
    small = -1 if request.param == "numpy" else 1 << 30
    monkeypatch.setattr(scan, "_SMALL", small)
    monkeypatch.setattr(unavailable, "_SMALL", small)
    return str(request.param)


@pytest.mark.parametrize("seed", range(24))
def test_the_columnar_engine_tells_what_the_reference_told(seed: int, scan_path: str) -> None:
    world = World(seed)
    new, ref = engines(RULES)
    now = T0
    assert list(map(plain, new.started(now))) == list(map(plain, ref.started(now)))
    told = 0
    for t in range(160):
        now += round(world.step_s * S)
        if t == 90:  # a config reload: both take over their predecessors' state
            (new2, ref2), old_new, old_ref = engines(RELOADED), new, ref
            new, ref = new2, ref2
            assert list(map(plain, new.adopt(old_new, now))) == list(map(plain, ref.adopt(old_ref, now)))
        rows = world.tick()
        figs = world.from_sink(rows, now) if seed % 3 else world.from_items(rows, now)
        got = new.step(figs, now)
        want = ref.step(figs, now)
        assert list(map(plain, got)) == list(map(plain, want)), (seed, t)
        told += len(got)
        assert list(map(plain, new.firing())) == list(map(plain, ref.firing())), (seed, t)
        if t % 10 == 0:
            assert list(map(plain, new.announced())) == list(map(plain, ref.announced())), (seed, t)
            assert new.inhibited() == ref.inhibited(), (seed, t)
    assert told > 50  # the run crossed thresholds both ways, not a quiet book


def test_a_run_covers_what_it_claims() -> None:
    """The random runs above do reach every case they are there to compare."""
    seen: set[str] = set()
    for seed in range(6):
        world = World(seed)
        new, _ = engines(RULES)
        now = T0
        for _ in range(160):
            now += round(world.step_s * S)
            for ev in new.step(world.from_sink(world.tick(), now), now):
                seen.add(f"{ev.labels['alertname']}:{ev.state}:{ev.severity.label}")
                seen |= {f"annotation:{k}" for k in ev.annotations}
                seen |= {f"value:{ev.value}"} if math.isinf(ev.value) else set()
            seen |= {"inhibited"} if new.inhibited() else set()
    for case in (
        "Distance:firing:page",
        "Distance:resolved:warning",
        "Margin:firing:critical",
        "FigureUnavailable:firing:page",
        "FigureUnavailable:resolved:warning",
        "StaleFeed:firing:warning",
        "PerpmonWatchdog:firing:info",
        "annotation:figure_state",
        "annotation:resolved_reason",
        "value:inf",
        "value:-inf",
        "inhibited",
    ):
        assert case in seen, case
