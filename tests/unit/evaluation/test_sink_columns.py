"""The columnar FigureSink makes the figures the dict sink made, tick after tick, whatever the way in.

The reference is the sink as it was (tests/unit/rules/reference/sink.py: a FigureKey and a Figure per
row into a dict). Random ticks mix `add`, `add_many`, `FigureRows` and `add_array`, interleave names,
repeat keys (the last figure wins, the first place stays), carry NaN with and without a reason and
±inf, change the book's shape now and then, and reuse and change label dicts after handing them in.
With one ShapeCache over the ticks (as the evaluator keeps it), the keys of an unchanged shape must
be the very tuple of the tick before.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import msgspec
import numpy as np
import pytest

from monitor.evaluation.sink import FigureRows, FigureSink
from monitor.figure_columns import FigureColumn, FigureItems, ShapeCache
from monitor.records import Figure, FigureKey, Figures
from tests.unit.rules.reference.sink import FigureSink as DictSink

NAMES = ("margin_ratio", "liquidation_distance_ratio", "basis_usd", "position_notional_usd")
VALUES = (0.5, math.nan, math.inf, -math.inf, 0.0, -1.25, 1e300)


def plain(items: Mapping[FigureKey, Figure]) -> dict[FigureKey, tuple[str, str, int, bool, str]]:
    """NaN as text, so NaN equals NaN."""
    return {k: (repr(f.value), f.unit, f.ts_ns, bool(f.fresh), f.reason) for k, f in items.items()}


def grouped(names: list[str], keys: list[FigureKey]) -> list[FigureKey]:
    """A dict's key order grouped by name, names in the order they were first added (rows or not)."""
    return [k for n in dict.fromkeys(names) for k in keys if k.name == n]


def one_tick(rng: np.random.Generator, now: int, universe: list[dict[str, str]], shapes: ShapeCache) -> None:
    old, new = DictSink(now), FigureSink(now, shapes)
    rows = FigureRows()
    names: list[str] = []
    for _ in range(int(rng.integers(1, 8))):
        name = str(rng.choice(NAMES))
        how = int(rng.integers(0, 4))
        picked = [universe[i] for i in rng.choice(len(universe), int(rng.integers(0, 6)))]  # repeats too
        vals = [float(rng.choice(VALUES)) for _ in picked]
        fresh = [bool(rng.random() < 0.8) for _ in picked]
        why = [str(rng.choice(["", "", "no_mark", "stale: x"])) for _ in picked]
        if how in (1, 3) or (how == 0 and picked):  # a name is known from its first call that adds
            names.append(name)
        if how == 0:
            for lab, v, ok, r in zip(picked, vals, fresh, why, strict=True):
                lab = dict(lab)  # a caller's dict, changed right after it was handed in
                old.add(name, v, lab, fresh=ok, reason=r)
                new.add(name, v, lab, fresh=ok, reason=r)
                lab["symbol"] = "CHANGED"
        elif how == 1:
            old.add_many(name, picked, vals, fresh, why)
            new.add_many(name, picked, vals, fresh, why)
        elif how == 2:
            for lab, v, ok, r in zip(picked, vals, fresh, why, strict=True):
                rows.add(name, v, lab, fresh=ok, reason=r)
        else:
            keys = tuple(FigureKey(name=name, **lab) for lab in picked)
            old.add_many(name, picked, vals, fresh, why)
            new.add_array(name, keys, np.array(vals), np.array(fresh), why)
    pending = dict(rows._cols)  # what the stage gathered, for the dict sink too
    names += pending
    rows.flush(new)
    for name, (labs, vals, fresh, why) in pending.items():
        old.add_many(name, labs, vals, fresh, why)
    made = new.figures()
    assert plain(made.items) == plain(old.items)
    assert list(made.items) == grouped(names, list(old.items))
    for col in made.columns.values():  # a repeated key is one row, as rules and /metrics read columns
        assert len(set(col.keys)) == len(col) == col.values.size == col.fresh.size == len(col.reasons)
    for key, fig in old.items.items():  # one figure without the dict form, as alert texts ask
        got = Figures(taken_at_ns=now, items=FigureItems(made.columns)).items.get(key)
        assert got is not None and plain({key: got}) == plain({key: fig})
    assert made.items.get(FigureKey(name="margin_ratio", venue="nowhere")) is None


@pytest.mark.parametrize("seed", range(12))
def test_the_columns_hold_what_the_dict_sink_held(seed: int) -> None:
    universe = [{"venue": v, "symbol": s} for v in ("binance", "bybit") for s in ("BTC", "ETH", "SOL")]
    universe += [{"venue": "binance", "account": "desk"}, {}]
    shapes = ShapeCache()
    for t in range(40):
        one_tick(np.random.default_rng(seed * 1000 + t % 5), 10 + t, universe, shapes)  # shapes recur


def test_an_unchanged_shape_keeps_its_keys_tuple() -> None:
    """Tick after tick with the same labels, the column's keys are last tick's tuple (rules and
    /metrics find what they derived from it by identity); a changed shape is a new tuple."""
    shapes = ShapeCache()
    labs = [{"venue": "binance", "symbol": s} for s in ("BTC", "ETH")]

    def tick(now: int, labels: list[dict[str, str]]) -> tuple[tuple[FigureKey, ...], ...]:
        n = len(labels)
        sink = FigureSink(now, shapes)
        sink.add_many("basis_usd", [dict(x) for x in labels], [1.0] * n, [True] * n, [""] * n)
        for lab in labels:
            sink.add("margin_ratio", 0.5, dict(lab))
        cols = sink.columns()
        return cols["basis_usd"].keys, cols["margin_ratio"].keys

    first = tick(1, labs)
    second = tick(2, labs)
    assert first[0] is second[0] and first[1] is second[1]
    grown = tick(3, [*labs, {"venue": "bybit", "symbol": "BTC"}])
    assert grown[1] is not second[1] and len(grown[1]) == 3 and grown[1][:2] == second[1]


def test_amend_changes_freshness_and_reason_only() -> None:
    """model_age turns a stale model's figures fresh=False; the value and the row's place stay."""
    sink = FigureSink(7)
    key = FigureKey(name="basis_usd", venue="binance", symbol="BTC")
    sink.add("basis_usd", 2.5, venue="binance", symbol="ETH")
    sink.add("basis_usd", 1.5, venue="binance", symbol="BTC", reason="note")
    published = sink.figures()
    sink.amend(key, fresh=False, reason="model_stale, note")
    sink.add("basis_usd", math.nan, venue="bybit", symbol="BTC")
    after = sink.figures()
    assert after.items[key] == Figure(value=1.5, unit="usd", ts_ns=7, fresh=False, reason="model_stale, note")
    assert [k.symbol for k in after.items] == ["ETH", "BTC", "BTC"]
    assert after.items[FigureKey(name="basis_usd", venue="bybit", symbol="BTC")].reason == "not_available"
    assert published.items[key].fresh is True  # a published Figures never changes
    with pytest.raises(TypeError):
        sink.items[key] = msgspec.structs.replace(after.items[key], fresh=True)  # type: ignore[index]


def test_lengths_that_differ_are_an_error() -> None:
    with pytest.raises(ValueError, match="basis_usd"):
        FigureSink(0).add_many("basis_usd", [{"venue": "x"}], [1.0, 2.0], [True], [""])


def test_figures_made_from_a_dict_keep_it_and_answer_from_it() -> None:
    """Tests and tools build Figures from a dict: that dict stays the truth; columns are derived."""
    a = FigureKey(name="basis_usd", venue="x", symbol="A")
    b = FigureKey(name="margin_ratio", venue="x", account="desk")
    items = {
        a: Figure(value=math.nan, unit="usd", ts_ns=3, reason=""),
        b: Figure(value=math.inf, unit="r", ts_ns=4),
    }
    figs = Figures(taken_at_ns=5, items=items)
    assert (
        figs.items is items
        and figs.items.get(a) is items[a]
        and figs.items.get(FigureKey(name="basis_usd")) is None
    )
    col = figs.columns["margin_ratio"]
    assert col.keys == (b,) and col.values.tolist() == [math.inf] and col.fresh.tolist() == [True]
    assert figs.columns["basis_usd"].reasons == [""]  # as given: only the sink fills "not_available"
    assert figs.columns is figs.columns  # derived once for this dict
    replaced = msgspec.structs.replace(figs, items={b: items[b]})  # a Struct still: tools replace items
    assert list(replaced.columns) == ["margin_ratio"]


def test_one_figure_is_read_without_the_dict_form() -> None:
    """Alert texts ask for a figure or two per event: that must not build 84,000 Figure structs."""
    sink = FigureSink(9)
    sink.add_many(
        "basis_usd", [{"venue": "x", "symbol": s} for s in "ABC"], [1.0, math.nan, 3.0], [True] * 3, [""] * 3
    )
    figs = sink.figures()
    key = FigureKey(name="basis_usd", venue="x", symbol="B")
    assert figs.items.get(key) == figs.items[key] and key in figs.items and len(figs.items) == 3
    assert figs.items.get(FigureKey(name="basis_usd", venue="y")) is None
    assert FigureKey(name="margin_ratio") not in figs.items
    assert figs.items._dict is None  # type: ignore[attr-defined]  # nothing above built the dict form
    assert [k.symbol for k in figs.items] == ["A", "B", "C"]  # iterating does, once
    assert figs.items[key].reason == "not_available"


def test_a_column_after_one_that_changed_shape_reads_its_own_rows() -> None:
    """The tick's join is planned per book shape: when an earlier column grows or shrinks, a later
    one (its keys unchanged) sits elsewhere in the tick's arrays, and must still read its own rows,
    its NaN reasons included; back to the first shape, the first plan serves again."""
    shapes = ShapeCache()
    syms = ("BTC", "ETH", "SOL")

    def tick(now: int, n: int) -> dict[str, FigureColumn]:
        sink = FigureSink(now, shapes)
        labs = [{"venue": "binance", "symbol": s} for s in syms[:n]]
        sink.add_many("basis_usd", labs, [float(now)] * n, [True] * n, [""] * n)
        for i, s in enumerate(("BTC", "ETH")):  # a row run: its arrays are the join's own
            sink.add("margin_ratio", math.nan if i == now % 2 else now + i, account=s)
        sink.add_array("mark_price_usd", keys, np.array([-now, math.nan]), False, ["", "no_mark"])
        return sink.columns()

    keys = tuple(FigureKey(name="mark_price_usd", venue="bybit", symbol=s) for s in ("BTC", "ETH"))
    for now, n in ((10, 2), (11, 2), (12, 3), (13, 1), (14, 2), (15, 2)):
        cols = tick(now, n)
        assert cols["basis_usd"].values.tolist() == [float(now)] * n
        margin = cols["margin_ratio"]
        nan_row = now % 2
        assert [v if v == v else "nan" for v in margin.values.tolist()] == [
            "nan" if i == nan_row else now + i for i in range(2)
        ]
        assert list(margin.reasons) == ["not_available" if i == nan_row else "" for i in range(2)]
        mark = cols["mark_price_usd"]
        assert mark.keys is keys and mark.values[0] == -now and math.isnan(mark.values[1])
        assert mark.fresh.tolist() == [False, False] and list(mark.reasons) == ["", "no_mark"]


def _stale_one_by_one(sink: FigureSink, keys: list[FigureKey], reason: str) -> None:
    """What model_age did before `amend_stale`: get and amend each key (a join per key)."""
    for key in keys:
        f = sink.get(key)
        if f is not None and not math.isnan(f.value):
            sink.amend(key, fresh=False, reason=f"{reason}, {f.reason}" if f.reason else reason)


@pytest.mark.parametrize("seed", range(6))
def test_amend_stale_equals_amending_key_by_key_with_one_join(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Same columns as the per-key path (NaN rows, reasons, keys not recorded, a key twice), and the
    whole batch costs one join however many keys it names."""
    rng = np.random.default_rng(seed)
    symbols = [f"S{i}" for i in range(40)]

    def filled() -> FigureSink:
        sink = FigureSink(11)
        for name in NAMES:
            for s in symbols:
                value = float(rng.choice(VALUES))
                sink.add(name, value, venue="binance", symbol=s, reason="note" if rng.random() < 0.3 else "")
        return sink

    state = rng.bit_generator.state
    a = filled()
    rng.bit_generator.state = state
    b = filled()
    keys = [
        FigureKey(
            name=str(rng.choice([*NAMES, "var_usd"])),
            venue="binance",
            symbol=str(rng.choice([*symbols, "X"])),
        )
        for _ in range(120)
    ]
    keys.append(keys[0])
    _stale_one_by_one(a, keys, "model_stale")
    import monitor.evaluation.sink as sink_module

    joins = []
    real = sink_module.join_parts

    def counted(*args: object, **kw: object) -> object:
        joins.append(1)
        return real(*args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(sink_module, "join_parts", counted)
    b.amend_stale(keys, "model_stale")
    assert len(joins) == 1
    assert plain(b.figures().items) == plain(a.figures().items)
