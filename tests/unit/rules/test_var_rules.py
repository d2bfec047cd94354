"""The shipped VaR rules follow the model the backtest supports, and their alerts name it in words."""

from __future__ import annotations

import math

from monitor.config import RuleConfig, load_config
from monitor.evaluation.sink import FigureSink
from monitor.evaluation.var_check import Choice, preferred_figures
from monitor.notify.render import context_pairs
from monitor.records import AlertState, FigureKey, Figures
from monitor.rules.context import annotate
from monitor.rules.engine import RuleEngine
from monitor.whatif.sources import PlaceholderEnv
from tests.unit.notify.alert_scenarios import ROOT, rules

S = 1_000_000_000
T0 = 1_700_000_000 * S
VAR99 = {"method": "preferred", "confidence": "0.99"}


def _shipped(name: str) -> tuple[RuleConfig, ...]:
    cfg, _ = load_config(ROOT / "config.toml", env=PlaceholderEnv())
    return tuple(r for r in cfg.rules if r.name == name)


def _rows(var99: float) -> dict[tuple[str, str, float], tuple[float, bool, str]]:
    """Horizon VaR/ES per method as book_var emits them; Monte Carlo has no value (book changed)."""
    out = {}
    for m, scale in (("parametric", 0.8), ("historical", 0.9), ("filtered_historical", 1.0)):
        for name, f in (("var_usd", 1.0), ("es_usd", 1.2)):
            out[(name, m, 0.99)] = (var99 * scale * f, True, "")
    out[("var_usd", "monte_carlo", 0.99)] = (math.nan, True, "book_changed_since_refit")
    out[("es_usd", "monte_carlo", 0.99)] = (math.nan, True, "book_changed_since_refit")
    return out


def _tick(t: int, var99: float, choice: Choice, holding: float) -> Figures:
    sink = FigureSink(t)
    preferred_figures(sink, _rows(var99), choice, (0.99,))
    for (name, m, a), (v, fresh, why) in _rows(var99).items():
        sink.add(name, v, {"method": m, "confidence": f"{a:g}"}, fresh=fresh, reason=why)
    sink.add("var_methods_holding", holding)
    return sink.figures()


def test_value_at_risk_watches_the_preferred_figure_only() -> None:
    [var] = [r for r in rules() if r.name == "ValueAtRisk"]
    assert var.figure == "var_usd"
    assert var.matches(FigureKey(name="var_usd", **VAR99))
    for method in ("historical", "parametric", "filtered_historical", "monte_carlo"):
        assert not var.matches(FigureKey(name="var_usd", method=method, confidence="0.99"))
    assert not var.matches(FigureKey(name="var_usd", method="preferred", confidence="0.95"))


def test_var_alert_names_the_preferred_model_in_a_desks_words() -> None:
    """The preferred model over the limit for 30 s: warning, its summary says which model it is."""
    engine = RuleEngine(_shipped("ValueAtRisk"))
    choice = Choice("filtered_historical", "")
    events = []
    for k in range(32):
        figs = _tick(T0 + k * S, 61_000.0, choice, 1.0)
        events += annotate(engine.step(figs, T0 + k * S), figs, rules())
    [ev] = events
    assert ev.state is AlertState.FIRING and ev.severity.label == "warning"
    assert ev.labels["method"] == "preferred"
    assert ev.annotations["summary"] == (
        "the book's 99 % VaR (filtered historical, preferred by the backtest) over the horizon is "
        "$61,000 (limit $50,000)"
    )
    assert ("VaR model", "filtered historical, preferred by the backtest") in context_pairs(ev)


def test_with_no_model_holding_the_alert_says_the_figure_is_the_largest() -> None:
    engine = RuleEngine(_shipped("ValueAtRisk"))
    events = []
    for k in range(32):
        figs = _tick(T0 + k * S, 120_000.0, Choice("", "no_method_holds"), 0.0)
        events += annotate(engine.step(figs, T0 + k * S), figs, rules())
    [ev] = events
    assert ev.severity.label == "critical"
    assert ev.annotations["var_model"] == "filtered historical, the largest: no model holds its backtest"
    assert ev.annotations["summary"].startswith(
        "the book's 99 % VaR (filtered historical, the largest: no model holds its backtest) over"
    )


def test_var_model_rejected_fires_when_no_model_holds_for_five_minutes() -> None:
    """One model failing is not an alert (the preferred figure moved to one that holds); none
    holding for 300 s is, and a model holding again resolves it. NaN (warming up) holds the state."""
    [rule] = [r for r in rules() if r.name == "VarModelRejected"]
    assert rule.figure == "var_methods_holding" and rule.matches(FigureKey(name="var_methods_holding"))
    engine = RuleEngine(_shipped("VarModelRejected"))
    choice = Choice("", "no_method_holds")
    seen: list[tuple[int, str]] = []
    for k, holding in [(0, 1.0), (10, 0.0), (200, 0.0), (309, 0.0), (311, 0.0), (320, math.nan), (330, 1.0)]:
        t = T0 + k * S
        seen += [(k, ev.state.name) for ev in engine.step(_tick(t, 10_000.0, choice, holding), t)]
    assert seen == [(311, "FIRING"), (330, "RESOLVED")]
