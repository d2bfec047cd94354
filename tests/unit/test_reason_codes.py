"""Why a figure is NaN reaches /metrics as a short code from a fixed set, never as free text."""

from __future__ import annotations

import math
import shutil
import subprocess
from collections.abc import Callable

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from monitor.evaluation.book_mc import lps_from_figures
from monitor.evaluation.models import EMPTY_MODELS, refresh_models
from monitor.evaluator import Evaluator
from monitor.metrics import EvaluationStats, PerpmonMetrics
from monitor.reason_codes import CODES, OTHER, reason_code
from monitor.records import Figure, FigureKey, Figures
from monitor.store.state import StateStore
from tests.unit.evaluation import test_bad_inputs as bad
from tests.unit.evaluation.world import T0, config

S = 1_000_000_000


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("missing_tier", "missing_tier"),
        ("lagging: newest event 3.1s old (limit 15s)", "lagging"),
        ("stale: binance/mark:BTCUSDT, binance/account:a", "stale"),
        ("stale mark", "stale_mark"),
        ("autocorrelation_scaled,few_independent_windows", "autocorrelation_scaled"),
        ("garch_fit_failed", "garch_fit_failed"),
        ("INSUFFICIENT_DEPTH", "insufficient_depth"),
        ("API key refused: it can do more than read", OTHER),
        ("connection reset by peer 10.0.0.7", OTHER),
        ("", ""),
        (":::", OTHER),
    ],
)
def test_reason_code(text: str, code: str) -> None:
    assert reason_code(text) == code
    assert code == "" or code in CODES


def _worlds() -> list[Callable[[], tuple[StateStore, int]]]:
    return [bad.nan_prices, bad.zero_and_negative_prices, bad.one_bar, bad.flat_prices_no_spot_quote,
            bad.no_tiers_with_history, bad.unwatched_legs_with_history]  # fmt: skip


@pytest.mark.parametrize("world", _worlds())
def test_every_reason_the_evaluator_gives_has_a_code(world: Callable[[], tuple[StateStore, int]]) -> None:
    """Bad books, before and after a refit: no NaN figure's reason falls into "other" (add new codes)."""
    cfg = config()
    st, t = world()
    snap = st.snapshot(t)
    ev = Evaluator(cfg, started_ns=T0)
    first = ev.evaluate(snap, t)
    models = refresh_models(snap, cfg.evaluation, EMPTY_MODELS, lps_from_figures(first))
    fitted = ev.evaluate(snap, t + S, models)
    unknown = {
        (key.name, fig.reason)
        for figs in (first, fitted)
        for key, fig in figs.items.items()
        if not fig.available and reason_code(fig.reason) == OTHER
    }
    assert not unknown


def _exposition(figs: Figures) -> str:
    reg = CollectorRegistry()
    reg.register(
        PerpmonMetrics(figures=lambda: figs, collectors=[], evaluation=EvaluationStats(), delivery=lambda: [],
                       firing=lambda: [], started_ns=T0, version="test")
    )  # fmt: skip
    return generate_latest(reg).decode()


def test_unavailable_figures_are_exported_with_their_code() -> None:
    """One `perpmon_figure_unavailable` series per NaN figure, labelled like it; none for a value."""
    cfg = config()
    st, t = bad.no_tiers_with_history()
    figs = Evaluator(cfg, started_ns=T0).evaluate(st.snapshot(t), t)
    text = _exposition(figs)
    series = [s for fam in text_string_to_metric_families(text) for s in fam.samples
              if s.name == "perpmon_figure_unavailable"]  # fmt: skip
    nan_keys = {k for k, f in figs.items.items() if not math.isfinite(f.value)}
    assert len(series) == len(nan_keys) > 0
    lp = {"figure": "liquidation_price_usd", "reason": "missing_tier", "venue": "binance", "account": "a",
          "symbol": "BTCUSDT", "side": "BOTH"}  # fmt: skip
    assert any({k: v for k, v in s.labels.items() if v} == lp and s.value == 1.0 for s in series)
    assert {s.labels["reason"] for s in series} <= CODES
    available = {k.name for k, f in figs.items.items() if math.isfinite(f.value)} - {k.name for k in nan_keys}
    assert available and not {s.labels["figure"] for s in series} & available


def test_free_text_never_reaches_a_label_and_promtool_is_clean() -> None:
    """A lagging feed's sentence and a collector's words become codes; the exposition passes promtool."""
    key = FigureKey(name="margin_ratio", venue="binance", account="a")
    lag = FigureKey(name="feed_last_message_age_seconds", venue="binance", stream="mark:BTCUSDT")
    figs = Figures(
        taken_at_ns=T0,
        items={
            key: Figure(value=math.nan, unit="ratio", ts_ns=T0, reason="lagging: newest event 3.1s old"),
            lag: Figure(value=math.nan, unit="seconds", ts_ns=T0, reason="token=abc123 refused"),
        },
    )
    text = _exposition(figs)
    assert "newest event" not in text and "abc123" not in text
    assert 'figure="margin_ratio",reason="lagging"' in text
    assert 'reason="other"' in text
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("promtool is missing: run `make test`, which installs Debian's prometheus package")
    proc = subprocess.run(
        [promtool, "check", "metrics"], input=text, capture_output=True, text=True, timeout=30
    )
    assert proc.returncode == 0 and not proc.stdout.strip() and not proc.stderr.strip(), (
        proc.stdout + proc.stderr
    )
