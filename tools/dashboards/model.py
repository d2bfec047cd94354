"""Grafana dashboards, generated from code so every panel names only metrics perpmon exposes.

`python -m tools.dashboards` writes `grafana/dashboards/*.json`; `--check` exits 1 when the
committed files differ from what the code makes. A panel's PromQL may name only `perpmon_<figure>`
for a figure in `monitor/figures.py`, its `_fresh` twin, or a self-health metric the exporters
really emit: anything else fails generation, so a renamed figure breaks the build, not a board at
3 a.m. The integration test `tests/integration/test_dashboards.py` then runs every target against a
real Prometheus that scraped a real perpmon.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from monitor.config import ShardConfig
from monitor.figures import CATALOG
from monitor.metrics import EvaluationStats, PerpmonMetrics
from monitor.reload import ReloadMetrics, ReloadStats
from monitor.shard import ShardMetrics

__all__ = [
    "Board",
    "Panel",
    "Row",
    "Target",
    "UnknownMetricError",
    "Variable",
    "known_metrics",
    "proof_queries",
    "render",
]

DATASOURCE_UID = "perpmon-prometheus"  # provisioned by grafana/provisioning/datasources
_DS = {"type": "prometheus", "uid": "${datasource}"}
_METRIC = re.compile(r"\b(perpmon_[a-z0-9_]+)\b")
_VAR = re.compile(r"\$(?!__)([a-z_]+)")
_LABEL_VALUES = re.compile(r"^label_values\((?P<sel>.+),\s*(?P<label>[a-z_]+)\)$")
OUT_DIR = Path(__file__).resolve().parents[2] / "grafana" / "dashboards"


class UnknownMetricError(ValueError):
    """A panel names a metric perpmon does not expose."""


@dataclass(frozen=True)
class Target:
    expr: str
    legend: str = ""
    instant: bool = False  # tables show the latest value, not a range


@dataclass(frozen=True)
class Panel:
    title: str
    targets: tuple[Target, ...]
    kind: Literal["timeseries", "stat", "table"] = "timeseries"
    unit: str = "short"
    description: str = ""
    width: int = 12
    height: int = 8
    steps: tuple[tuple[float | None, str], ...] = ((None, "green"),)  # threshold colours from a base


@dataclass(frozen=True)
class Row:
    title: str
    panels: tuple[Panel, ...]


@dataclass(frozen=True)
class Variable:
    name: str
    query: str  # label_values(<selector>, <label>)


@dataclass(frozen=True)
class Board:
    uid: str
    title: str
    description: str
    variables: tuple[Variable, ...]
    rows: tuple[Row, ...]


def known_metrics() -> frozenset[str]:
    """Every series name perpmon can expose: catalogue figures, `_fresh` twins, self-health."""
    names = {f"perpmon_{n}" for n in CATALOG} | {f"perpmon_{n}_fresh" for n in CATALOG}
    health = PerpmonMetrics(
        figures=lambda: None,
        collectors=(),
        evaluation=EvaluationStats(),
        delivery=lambda: (),
        firing=lambda: (),
        started_ns=0,
        version="",
    )
    for collector in (health, ReloadMetrics(ReloadStats()), ShardMetrics(ShardConfig())):
        for fam in collector.collect():
            names.add(fam.name + ("_total" if fam.type == "counter" else ""))
    return frozenset(names)


def _exprs(board: Board) -> Iterator[tuple[str, str]]:
    for v in board.variables:
        yield f"variable {v.name}", v.query
    for row in board.rows:
        for p in row.panels:
            for t in p.targets:
                yield p.title, t.expr


def check(board: Board, known: frozenset[str]) -> None:
    """Fail on an unknown metric, an undefined variable, or two panels with one title."""
    defined = {v.name for v in board.variables} | {"datasource"}
    titles: set[str] = set()
    for row in board.rows:
        for p in row.panels:
            if p.title in titles:
                raise ValueError(f"{board.uid}: two panels titled {p.title!r}")
            titles.add(p.title)
    for where, expr in _exprs(board):
        for name in _METRIC.findall(expr):
            if name not in known:
                raise UnknownMetricError(f"{board.uid} / {where}: {name} is not exposed by perpmon")
        for var in _VAR.findall(expr):
            if var not in defined:
                raise ValueError(f"{board.uid} / {where}: ${var} is not a variable of the board")


def proof_queries(board: Board, values: Mapping[str, str], rate_interval: str) -> list[tuple[str, str]]:
    """(where, PromQL) for every target and variable, with variables filled in as Grafana would."""
    out = []
    for where, expr in _exprs(board):
        m = _LABEL_VALUES.match(expr)
        if m:  # Grafana lists a label's values; a count by that label returns the same set
            expr = f"count by ({m['label']}) ({m['sel']})"
        expr = expr.replace("$__rate_interval", rate_interval)
        out.append((where, _VAR.sub(lambda v: values.get(v.group(1), ".*"), expr)))
    return out


def _variable(v: Variable) -> dict[str, Any]:
    return {
        "name": v.name,
        "label": v.name,
        "type": "query",
        "datasource": _DS,
        "definition": v.query,
        "query": {"query": v.query, "refId": f"{v.name}-values"},
        "refresh": 2,
        "includeAll": True,
        "multi": True,
        "allValue": ".*",
        "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
        "sort": 1,
    }


def _panel(p: Panel, pid: int, x: int, y: int) -> dict[str, Any]:
    targets = [
        {
            "refId": chr(ord("A") + i),
            "datasource": _DS,
            "expr": t.expr,
            "legendFormat": t.legend or "__auto",
            "instant": t.instant,
            "range": not t.instant,
            **({"format": "table"} if t.instant else {}),
        }
        for i, t in enumerate(p.targets)
    ]
    steps = [{"value": v, "color": c} for v, c in p.steps]
    out: dict[str, Any] = {
        "id": pid,
        "type": p.kind,
        "title": p.title,
        "description": p.description,
        "datasource": _DS,
        "gridPos": {"x": x, "y": y, "w": p.width, "h": p.height},
        "targets": targets,
        "fieldConfig": {
            "defaults": {"unit": p.unit, "thresholds": {"mode": "absolute", "steps": steps}},
            "overrides": [],
        },
        "options": {"legend": {"displayMode": "list", "placement": "bottom", "showLegend": True}},
    }
    if p.kind == "table" and len(targets) > 1:
        out["transformations"] = [{"id": "merge", "options": {}}]
    return out


def render(board: Board) -> dict[str, Any]:
    """The dashboard JSON Grafana's file provisioning loads (schema 39, Grafana ≥ 10)."""
    panels: list[dict[str, Any]] = []
    pid, y = 1, 0
    for row in board.rows:
        panels.append(
            {
                "id": pid,
                "type": "row",
                "title": row.title,
                "collapsed": False,
                "panels": [],
                "gridPos": {"x": 0, "y": y, "w": 24, "h": 1},
            }
        )
        pid, y, x, line_h = pid + 1, y + 1, 0, 0
        for p in row.panels:
            if x + p.width > 24:
                x, y, line_h = 0, y + line_h, 0
            panels.append(_panel(p, pid, x, y))
            pid, x, line_h = pid + 1, x + p.width, max(line_h, p.height)
        y += line_h
    ds_var = {
        "name": "datasource",
        "label": "Prometheus",
        "type": "datasource",
        "query": "prometheus",
        "current": {"selected": True, "text": "Prometheus", "value": DATASOURCE_UID},
    }
    return {
        "uid": board.uid,
        "title": board.title,
        "description": board.description,
        "tags": ["perpmon"],
        "timezone": "utc",
        "schemaVersion": 39,
        "version": 1,
        "editable": False,
        "refresh": "10s",
        "time": {"from": "now-6h", "to": "now"},
        "templating": {"list": [ds_var, *(_variable(v) for v in board.variables)]},
        "annotations": {"list": []},
        "links": [{"type": "dashboards", "tags": ["perpmon"], "asDropdown": True, "title": "perpmon"}],
        "panels": panels,
    }


def dump(board: Board) -> str:
    return json.dumps(render(board), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def generate(boards: Iterable[Board]) -> dict[str, str]:
    """File name → JSON text, after checking every board against the exposed metrics."""
    known = known_metrics()
    out = {}
    for b in boards:
        check(b, known)
        out[f"{b.uid}.json"] = dump(b)
    return out


def main(argv: list[str] | None = None) -> int:
    from tools.dashboards.boards import boards

    ap = argparse.ArgumentParser(prog="python -m tools.dashboards", description=__doc__)
    ap.add_argument("--out", type=Path, default=OUT_DIR)
    ap.add_argument("--check", action="store_true", help="exit 1 if the files on disk differ")
    args = ap.parse_args(argv)
    files = generate(boards())
    on_disk = {p.name: p.read_text() for p in sorted(args.out.glob("*.json"))} if args.out.exists() else {}
    if args.check:
        stale = sorted(n for n in files.keys() | on_disk.keys() if files.get(n) != on_disk.get(n))
        for n in stale:
            print(f"{args.out / n} is out of date: run `make dashboards`", file=sys.stderr)
        return 1 if stale else 0
    args.out.mkdir(parents=True, exist_ok=True)
    for n in on_disk.keys() - files.keys():
        (args.out / n).unlink()
    for n, text in files.items():
        (args.out / n).write_text(text)
    print(f"wrote {len(files)} dashboards to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
