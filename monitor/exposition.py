"""Figures as Prometheus text, with every series' `name{labels} ` made once per book shape.

`generate_latest` over `PerpmonMetrics` builds a Metric and a Sample per series and formats, sorts
and escapes every label set on every scrape: ~10 µs a series, more than a second at a desk's
84,000 series, all of it on the event loop. Here the labels of each series are built when the
ordered set of FigureKeys (the book's shape) changes, kept in one `%s` template per family, and a
scrape formats only the values of the families whose values changed since the last render. The
bytes are exactly what `generate_latest(PerpmonMetrics)` prints for the same Figures
(tests/unit/test_exposition.py compares them byte for byte, NaN, ±Inf, empty labels and escaping
included); the rest of the registry (self-health: a few dozen series) is still rendered by
prometheus_client, after it.

`chunks` may run in a worker thread (monitor/http.py runs it there): a published `Figures` is never
mutated (each tick builds a new one), and the caches here are guarded by a lock.
"""

from __future__ import annotations

import operator
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

import msgspec
import numpy as np
import numpy.typing as npt
from prometheus_client.utils import floatToGoString

from monitor.figures import CATALOG
from monitor.reason_codes import reason_code
from monitor.records import Figure, FigureKey, Figures

__all__ = ["FigureExposition", "go_floats"]

_LABELS: tuple[str, ...] = tuple(f for f in FigureKey.__struct_fields__ if f != "name")
_label_values = operator.attrgetter(*_LABELS)
_label_getters = [operator.attrgetter(label) for label in _LABELS]
_value = operator.attrgetter("value")
_fresh = operator.attrgetter("fresh")
_ALPHABETICAL = sorted(range(len(_LABELS)), key=lambda i: _LABELS[i])  # generate_latest sorts labels
_UNAVAILABLE = "perpmon_figure_unavailable"
# perpmon_figure_unavailable adds "figure" and "reason" to the figure's labels, all sorted by name;
# "figure" is index _FIGURE of _NAMES, "reason" goes between the two pickers of `_unavailable`
_FIGURE = len(_LABELS)
_NAMES = (*_LABELS, "figure")
_UNAVAILABLE_ORDER = sorted(range(len(_NAMES)), key=_NAMES.__getitem__)
_UNAVAILABLE_DOC = "1 per figure that is NaN, with why as a short code (reason); absent while it has a value."
_JSON = msgspec.json.Encoder()
_BINARY = ("0.0", "1.0")
_MEMO_LIMIT = 1 << 16  # distinct reasons / label values remembered each; beyond, that memo starts over
_CHUNK = 1 << 18  # bytes per piece handed to the socket
_go: Callable[[float], str] = floatToGoString
T = TypeVar("T")


def go_floats(values: npt.NDArray[np.float64]) -> list[str]:
    """`floatToGoString` of each value, formatted in C where the two agree.

    Python's `repr` (which floatToGoString uses) takes ~1 µs a float; msgspec writes the same
    shortest round-trip digits ~20× faster and in the same positional form for 1e-4 ≤ |v| < 1e16.
    Positive values from 1e6 up take Go's exponent form, and NaN, ±Inf, tiny and huge values differ
    in form, so those few go through floatToGoString itself (tests/unit/test_exposition.py checks
    the two agree on millions of values).
    """
    if values.size == 0:
        return []
    as_list = values.tolist()
    out = _JSON.encode(as_list)[1:-1].decode().split(",")
    fast = (values == 0.0) | ((np.abs(values) >= 1e-4) & (values < 1e6) & (values > -1e16))
    for i in np.flatnonzero(~fast).tolist():
        out[i] = _go(as_list[i])
    return out


def _head(metric: str, doc: str) -> bytes:
    doc = doc.replace("\\", r"\\").replace("\n", r"\n")
    return f"# HELP {metric} {doc}\n# TYPE {metric} gauge\n".encode()


def _escape(value: str) -> str:
    return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")


def _fragment_text(label: int, value: str) -> str:
    """`name="value"`, escaped; label is an index into _LABELS, or _FIGURE."""
    return f'{_NAMES[label]}="{_escape(value)}"'


def _picker(positions: Sequence[int]) -> Callable[[Sequence[T]], tuple[T, ...]]:
    """`itemgetter` that returns a tuple for one position or none too."""
    if len(positions) == 1:
        (p,) = positions
        return lambda seq: (seq[p],)
    return operator.itemgetter(*positions) if positions else lambda _seq: ()


def _coalesce(parts: list[bytes]) -> tuple[bytes, ...]:
    """Consecutive parts joined up to about `_CHUNK` bytes: a few dozen writes, none of megabytes."""
    out: list[bytes] = []
    group: list[bytes] = []
    size = 0
    for p in parts:
        group.append(p)
        size += len(p)
        if size >= _CHUNK:
            out.append(b"".join(group))
            group, size = [], 0
    if group:
        out.append(b"".join(group))
    return tuple(out)


_NOTHING: Callable[[Sequence[str]], tuple[str, ...]] = _picker(())
_UNAVAILABLE_HEAD = _head(_UNAVAILABLE, _UNAVAILABLE_DOC)


@dataclass(slots=True)
class _Family:
    """One figure name's two families (`perpmon_<name>` and its `_fresh` twin) in one book shape."""

    name: str
    keys: list[FigureKey]  # in FigureKey order
    rows: npt.NDArray[np.intp]  # where those keys sit in the tick's item order
    head: bytes
    template: str  # "perpmon_<name>{labels} %s\n" per row, '%' escaped
    fresh_head: bytes
    fresh_template: str
    last_bits: npt.NDArray[np.int64] | None = None  # the values last rendered, bit for bit
    last: bytes = b""
    last_ok: npt.NDArray[np.bool_] | None = None
    last_fresh: bytes = b""


@dataclass(slots=True)
class _Shape:
    """Everything that depends only on the ordered set of FigureKeys of a tick."""

    keys: list[FigureKey]
    families: list[_Family]
    rank: npt.NDArray[np.intp]  # position of each item in FigureKey order
    bits: npt.NDArray[np.int64]  # bit i: label _LABELS[i] is non-empty
    unavailable: dict[int, tuple[str, ...]] = field(default_factory=dict)  # row → its label fragments
    union: int = -1  # labels of perpmon_figure_unavailable's rows, and its two pickers for them
    before: Callable[[Sequence[str]], tuple[str, ...]] = _NOTHING
    after: Callable[[Sequence[str]], tuple[str, ...]] = _NOTHING


class FigureExposition:
    """Renders `Figures` as the figure part of /metrics; remembers the last shape and the last tick."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._shape: _Shape | None = None
        self._last: tuple[Figures, tuple[bytes, ...]] | None = None
        self._fragments: list[dict[str, str]] = [{} for _ in range(len(_LABELS) + 1)]  # value → `k="v"`
        self._codes: dict[str, str] = {}  # reason → code

    def render(self, figs: Figures) -> bytes:
        """The figure families of `figs`, as `generate_latest(PerpmonMetrics)` would print them."""
        return b"".join(self.chunks(figs))

    def chunks(self, figs: Figures) -> tuple[bytes, ...]:
        """`render` in pieces of about `_CHUNK` bytes, so no single copy or write holds the GIL long.

        The same `figs` again (a second Prometheus, a scrape between two ticks) costs nothing.
        """
        with self._lock:
            if self._last is not None and self._last[0] is figs:
                return self._last[1]
            out = _coalesce(self._parts(figs))
            self._last = (figs, out)
            return out

    # ---------------------------------------------------------------- per scrape
    def _parts(self, figs: Figures) -> list[bytes]:
        keys = list(figs.items)
        shape = self._shape
        if shape is None or shape.keys != keys:
            shape = self._shape = self._build(keys, shape)
        items = list(figs.items.values())
        values = np.fromiter(map(_value, items), np.float64, len(items))
        available = ~np.isnan(values)  # only NaN is unavailable: ±inf is a value (past liquidation)
        ok = np.fromiter(map(_fresh, items), np.bool_, len(items)) & available
        bits = values.view(np.int64)
        parts = [self._unavailable(shape, items, available)]
        for fam in shape.families:
            fb = bits[fam.rows]
            if fam.last_bits is None or not np.array_equal(fb, fam.last_bits):
                fam.last = fam.head + (fam.template % tuple(go_floats(values[fam.rows]))).encode()
                fam.last_bits = fb
            fo = ok[fam.rows]
            if fam.last_ok is None or not np.array_equal(fo, fam.last_ok):
                flags = tuple(map(_BINARY.__getitem__, fo.tolist()))
                fam.last_fresh = fam.fresh_head + (fam.fresh_template % flags).encode()
                fam.last_ok = fo
            parts += (fam.last, fam.last_fresh)
        return parts

    def _unavailable(self, shape: _Shape, items: list[Figure], available: npt.NDArray[np.bool_]) -> bytes:
        """`perpmon_figure_unavailable`: labels are figure, reason and every label of its rows."""
        rows = np.flatnonzero(~available)
        if rows.size == 0:
            return _UNAVAILABLE_HEAD
        rows = rows[np.argsort(shape.rank[rows])]
        union = int(np.bitwise_or.reduce(shape.bits[rows])) | 1 << _FIGURE
        if union != shape.union:
            chosen = [i for i in _UNAVAILABLE_ORDER if union >> i & 1]
            cut = sum(1 for i in chosen if _NAMES[i] < "reason")
            shape.union, shape.before, shape.after = union, _picker(chosen[:cut]), _picker(chosen[cut:])
        lines = []
        for i in rows.tolist():
            frags = shape.unavailable.get(i)
            if frags is None:
                key = shape.keys[i]
                frags = shape.unavailable[i] = (*map(self._fragment, range(len(_LABELS)), _label_values(key)),
                                                self._fragment(_FIGURE, key.name))  # fmt: skip
            code = self._code(items[i].reason)
            labels = ",".join((*shape.before(frags), code, *shape.after(frags)))
            lines.append(f"{_UNAVAILABLE}{{{labels}}} 1.0\n")
        return _UNAVAILABLE_HEAD + "".join(lines).encode()

    def _code(self, reason: str) -> str:
        code = self._codes.get(reason)
        if code is None:
            if len(self._codes) >= _MEMO_LIMIT:  # free text (ages, names) must not grow it forever
                self._codes.clear()
            code = self._codes[reason] = f'reason="{_escape(reason_code(reason) or "not_available")}"'
        return code

    def _fragment(self, label: int, value: str) -> str:
        memo = self._fragments[label]
        frag = memo.get(value)
        if frag is None:
            if len(memo) >= _MEMO_LIMIT:
                memo.clear()
            frag = memo[value] = _fragment_text(label, value)
        return frag

    def _fragments_of(self, label: int, values: Sequence[str]) -> list[str]:
        """`_fragment` of each value, a column at a time."""
        memo = self._fragments[label]
        missing = set(values).difference(memo)
        if len(memo) + len(missing) > _MEMO_LIMIT:
            memo.clear()
            missing = set(values)
        for v in missing:
            memo[v] = _fragment_text(label, v)
        return list(map(memo.__getitem__, values))

    # ---------------------------------------------------------------- per book shape
    def _build(self, keys: list[FigureKey], old: _Shape | None) -> _Shape:
        """Sort the keys, group them by name and make each family's templates, a column at a time.

        A family whose keys did not change is carried over with its last rendered bytes, so a
        position opening or closing rebuilds the position families only.
        """
        n = len(keys)
        order = sorted(range(n), key=keys.__getitem__)
        rank = np.empty(n, np.intp)
        rank[order] = np.arange(n)
        columns = [list(map(get, keys)) for get in _label_getters]
        bits = np.zeros(n, np.int64)
        for i, col in enumerate(columns):
            bits |= np.fromiter(map(bool, col), np.bool_, n).astype(np.int64) << i
        previous = {f.name: f for f in old.families} if old is not None else {}
        families = []
        start = 0
        while start < n:
            name = keys[order[start]].name
            end = start + 1
            while end < n and keys[order[end]].name == name:
                end += 1
            picked = _picker(order[start:end])
            fam_keys = list(picked(keys))
            fam = previous.get(name)
            if fam is None or fam.keys != fam_keys:
                fam = self._family(name, fam_keys, [picked(col) for col in columns])
            fam.rows = np.array(order[start:end], np.intp)
            families.append(fam)
            start = end
        return _Shape(keys=keys, families=families, rank=rank, bits=bits)

    def _family(self, name: str, keys: list[FigureKey], columns: list[tuple[str, ...]]) -> _Family:
        """Templates of one name's families; `columns[i]` holds label _LABELS[i] of each key."""
        metric = f"perpmon_{name}"
        fresh = f"{metric}_fresh"
        used = [i for i in _ALPHABETICAL if any(columns[i])]  # every row carries each used label
        frag_columns = [self._fragments_of(i, columns[i]) for i in used]
        labels = [f"{{{','.join(row)}}}".replace("%", "%%") for row in zip(*frag_columns, strict=True)]
        labels = labels or [""] * len(keys)
        spec = CATALOG.get(name)
        return _Family(
            name=name,
            keys=keys,
            rows=np.empty(0, np.intp),
            head=_head(metric, spec.help if spec else name),
            template="".join(f"{metric}{lab} %s\n" for lab in labels),
            fresh_head=_head(fresh, f"1 when the inputs of {metric} were fresh."),
            fresh_template="".join(f"{fresh}{lab} %s\n" for lab in labels),
        )
