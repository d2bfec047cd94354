"""Dashboards are generated from code, name only exposed metrics, and the committed JSON is current."""

from __future__ import annotations

import json

import pytest

from monitor.figures import CATALOG
from tools.dashboards.boards import boards, sel
from tools.dashboards.model import (
    OUT_DIR,
    Board,
    Panel,
    Row,
    Target,
    UnknownMetricError,
    Variable,
    check,
    generate,
    known_metrics,
    main,
    proof_queries,
)


def test_committed_json_equals_the_generator_output() -> None:
    """grafana/dashboards/*.json is exactly what `make dashboards` writes (no hand edits, none stale)."""
    files = generate(boards())
    on_disk = {p.name: p.read_text() for p in OUT_DIR.glob("*.json")}
    assert on_disk == files, "run `make dashboards` and commit grafana/dashboards"
    assert main(["--check"]) == 0


def test_the_boards_an_operator_needs_are_there() -> None:
    """Book, margin and liquidation, funding and health boards, each with venue/account/symbol filters."""
    by_uid = {b.uid: b for b in boards()}
    assert {"perpmon-book", "perpmon-margin", "perpmon-funding", "perpmon-health"} <= set(by_uid)
    assert [v.name for v in by_uid["perpmon-margin"].variables] == ["venue", "account", "symbol"]
    assert [v.name for v in by_uid["perpmon-funding"].variables] == ["venue", "symbol"]


def test_known_metrics_cover_figures_and_self_health() -> None:
    """Every catalogue figure, its _fresh twin, and the health series (counters with _total) are known."""
    known = known_metrics()
    assert {f"perpmon_{n}" for n in CATALOG} <= known
    assert {
        "perpmon_collector_messages_total",
        "perpmon_evaluation_last_timestamp_seconds",
        "perpmon_outbox_pending",
        "perpmon_config_last_reload_successful",
        "perpmon_config_last_reload_success_timestamp_seconds",
        "perpmon_shard_info",
    } <= known
    assert "perpmon_collector_messages" not in known  # a counter is only exposed with _total


def _board(expr: str, variables: tuple[Variable, ...] = ()) -> Board:
    return Board("t", "t", "", variables, (Row("r", (Panel("p", (Target(expr),)),)),))


def test_an_unknown_metric_fails_generation() -> None:
    """A typo in a figure name stops the generator instead of shipping an empty panel."""
    with pytest.raises(UnknownMetricError, match="perpmon_margin_ration"):
        check(_board("max(perpmon_margin_ration)"), known_metrics())
    with pytest.raises(UnknownMetricError):
        sel("margin_ration")


def test_an_undefined_variable_fails_generation() -> None:
    """A panel may only use variables its board defines."""
    with pytest.raises(ValueError, match=r"\$account"):
        check(_board('perpmon_margin_ratio{account=~"$account"}'), known_metrics())


def test_proof_queries_fill_variables_as_grafana_would() -> None:
    """$var becomes the picked regex (All is .*), label_values becomes a count by the label."""
    b = _board(
        'rate(perpmon_collector_messages_total{venue=~"$venue"}[$__rate_interval])',
        (Variable("venue", "label_values(perpmon_mark_price_usd, venue)"),),
    )
    assert proof_queries(b, {"venue": "binance"}, "5s") == [
        ("variable venue", "count by (venue) (perpmon_mark_price_usd)"),
        ("p", 'rate(perpmon_collector_messages_total{venue=~"binance"}[5s])'),
    ]


def test_rendered_json_is_grafana_shaped() -> None:
    """Panels sit on a 24-column grid, every target uses the datasource variable, rows precede panels."""
    for name, text in generate(boards()).items():
        d = json.loads(text)
        assert d["uid"] == name.removesuffix(".json") and d["schemaVersion"] == 39
        for p in d["panels"]:
            assert p["gridPos"]["x"] >= 0 and p["gridPos"]["x"] + p["gridPos"]["w"] <= 24
            for t in p.get("targets", []):
                assert t["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        ids = [p["id"] for p in d["panels"]]
        assert len(ids) == len(set(ids))


def test_figure_families_added_later_get_panels(monkeypatch: pytest.MonkeyPatch) -> None:
    """VaR, top-up and stress figures added to the catalogue appear on their boards (the generator hook)."""
    from monitor.figures import FigureSpec

    uids = {b.uid for b in boards()}
    monkeypatch.setitem(CATALOG, "var_99_usd", FigureSpec("VaR.", "usd", ("asset",)))
    monkeypatch.setitem(CATALOG, "margin_topup_usd", FigureSpec("Top-up.", "usd", ("venue", "account")))
    monkeypatch.setitem(CATALOG, "stress_pnl_usd", FigureSpec("Stress.", "usd", ("venue", "account")))
    by_uid = {b.uid: b for b in boards()}
    exprs = {b.uid: [t.expr for r in b.rows for p in r.panels for t in p.targets] for b in by_uid.values()}
    assert "max by (asset) (perpmon_var_99_usd)" in exprs["perpmon-book"]
    assert (
        'max by (venue, account) (perpmon_margin_topup_usd{venue=~"$venue",account=~"$account"})'
        in exprs["perpmon-margin"]
    )
    assert "perpmon-stress" in by_uid and set(by_uid) - uids <= {"perpmon-stress"}  # stress_* are catalogued
