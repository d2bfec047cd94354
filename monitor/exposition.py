"""Figures as Prometheus text, with every series' `name{labels} ` made once per book shape.

`generate_latest` over `PerpmonMetrics` builds a Metric and a Sample per series and formats, sorts
and escapes every label set on every scrape: ~10 µs a series, more than a second at a desk's
84,000 series, all of it on the event loop. Here the figures are read as columns (one array of
values per name, `monitor/figure_columns.py`); the labels of each series are built when a column's
keys (its shape) change, kept in one `%s` template per family, and a scrape formats only the
values of the families whose values changed since the last render. The
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
from typing import Any, TypeVar

import msgspec
import numpy as np
import numpy.typing as npt
from prometheus_client.utils import floatToGoString

from monitor.figure_columns import FigureColumn
from monitor.figures import CATALOG
from monitor.reason_codes import reason_code
from monitor.records import FigureKey, Figures

__all__ = ["FigureExposition", "go_floats"]

_LABELS: tuple[str, ...] = tuple(f for f in FigureKey.__struct_fields__ if f != "name")
_label_values = operator.attrgetter(*_LABELS)
_label_getters = [operator.attrgetter(label) for label in _LABELS]
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
    """One figure name's two families (`perpmon_<name>` and its `_fresh` twin) in one column shape."""

    name: str
    src: tuple[FigureKey, ...]  # the column's keys, in its row order (its shape)
    keys: list[FigureKey]  # in FigureKey order, the order the families print
    order: npt.NDArray[np.intp]  # the column's row of each of `keys`
    bits: npt.NDArray[np.int64]  # per row of `keys`, bit i: label _LABELS[i] is non-empty
    head: bytes
    template: str  # "perpmon_<name>{labels} %s\n" per row, '%' escaped
    fresh_head: bytes
    fresh_template: str
    unavailable: dict[int, tuple[str, ...]] = field(default_factory=dict)  # row of `keys` → fragments
    last: bytes = b""
    last_fresh: bytes = b""


class _Layout:
    """The shown families side by side: each one's rows in key order, as one index into the scrape's
    concatenated columns; rebuilt when a family or its row order is not the one it was made from.
    The last scrape's values and flags, bit for bit, say which families need formatting again."""

    def __init__(self, shown: list[tuple[_Family, FigureColumn]]) -> None:
        self.families = [fam for fam, _ in shown]
        self.orders = [fam.order for fam, _ in shown]
        sizes = [len(fam.keys) for fam in self.families]
        offsets = np.cumsum([0, *sizes[:-1]])
        self.sizes = np.array(sizes, np.intp)
        self.offsets = offsets.astype(np.intp)  # a family's first row (its column's, too: same length)
        self.starts = self.offsets
        self.ends = self.offsets + self.sizes
        self.starts_l, self.ends_l = self.starts.tolist(), self.ends.tolist()
        self.order = np.concatenate([o + off for o, off in zip(self.orders, offsets.tolist(), strict=True)])
        self.bits = np.concatenate([fam.bits for fam in self.families])
        self.last_bits: npt.NDArray[np.int64] | None = None
        self.last_ok: npt.NDArray[np.bool_] | None = None

    def fits(self, shown: list[tuple[_Family, FigureColumn]]) -> bool:
        return len(shown) == len(self.families) and all(
            fam is f and fam.order is o
            for (fam, _), f, o in zip(shown, self.families, self.orders, strict=True)
        )

    def changed(self, now: npt.NDArray[Any], last: npt.NDArray[Any] | None) -> list[bool]:
        """Per family, whether any of its rows differs from `last` (all, the first time)."""
        if last is None:
            return [True] * len(self.families)
        return np.logical_or.reduceat(now != last, self.starts).tolist()  # type: ignore[no-any-return]


class FigureExposition:
    """Renders `Figures` as the figure part of /metrics; remembers each column's shape and the last tick."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._families: dict[str, _Family] = {}
        self._last: tuple[Figures, tuple[bytes, ...]] | None = None
        self._fragments: list[dict[str, str]] = [{} for _ in range(len(_LABELS) + 1)]  # value → `k="v"`
        self._codes: dict[str, str] = {}  # reason → code
        # labels of perpmon_figure_unavailable's rows, and its two pickers for them
        self._union = -1
        self._before: Callable[[Sequence[str]], tuple[str, ...]] = _NOTHING
        self._after: Callable[[Sequence[str]], tuple[str, ...]] = _NOTHING
        self._layout: _Layout | None = None  # where each family sits in a scrape's arrays

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
        columns = figs.columns
        old, self._families = self._families, {}
        shown: list[tuple[_Family, FigureColumn]] = []
        for name in sorted(columns):  # generate_latest's order: by name, then by key within a family
            col = columns[name]
            if not len(col):
                continue
            fam = old.get(name)
            if fam is None or fam.src is not col.keys:
                fam = self._family_for(name, col.keys, fam)
            self._families[name] = fam
            shown.append((fam, col))
        if not shown:
            return [_UNAVAILABLE_HEAD]
        lay = self._layout
        if lay is None or not lay.fits(shown):
            lay = self._layout = _Layout(shown)
        # every family's values in key order at once: numpy's per-call cost is paid per scrape, not per family
        v = np.concatenate([c.values for _, c in shown])[lay.order]
        nan = np.isnan(v)
        ok = np.concatenate([c.fresh for _, c in shown])[lay.order] & ~nan  # only NaN is unavailable
        bits = v.view(np.int64)
        moved = lay.changed(bits, lay.last_bits)
        flipped = lay.changed(ok, lay.last_ok)
        lay.last_bits, lay.last_ok = bits, ok
        texts = go_floats(v[np.repeat(np.array(moved), lay.sizes)]) if any(moved) else []
        flags = ok.tolist() if any(flipped) else []
        parts = [self._unavailable(shown, lay, nan)]
        at = 0
        for (fam, _), a, b, m, f in zip(shown, lay.starts_l, lay.ends_l, moved, flipped, strict=True):
            if m:
                fam.last = fam.head + (fam.template % tuple(texts[at : at + b - a])).encode()
                at += b - a
            if f:
                fam.last_fresh = (
                    fam.fresh_head
                    + (fam.fresh_template % tuple(map(_BINARY.__getitem__, flags[a:b]))).encode()
                )
            parts += (fam.last, fam.last_fresh)
        return parts

    def _unavailable(
        self, shown: list[tuple[_Family, FigureColumn]], lay: _Layout, nan: npt.NDArray[np.bool_]
    ) -> bytes:
        """`perpmon_figure_unavailable`: labels are figure, reason and every label of its rows."""
        at = np.flatnonzero(nan)  # rows of the families' keys, one family after another
        if not at.size:
            return _UNAVAILABLE_HEAD
        union = int(np.bitwise_or.reduce(lay.bits[at])) | 1 << _FIGURE
        if union != self._union:
            chosen = [i for i in _UNAVAILABLE_ORDER if union >> i & 1]
            cut = sum(1 for i in chosen if _NAMES[i] < "reason")
            self._union, self._before, self._after = union, _picker(chosen[:cut]), _picker(chosen[cut:])
        before, after, lines = self._before, self._after, []
        which = np.searchsorted(lay.ends, at, side="right")
        local = (at - lay.starts[which]).tolist()
        rows = (lay.order[at] - lay.offsets[which]).tolist()  # each NaN row's place in its column
        for f, i, row in zip(which.tolist(), local, rows, strict=True):
            fam, col = shown[f]
            frags = fam.unavailable.get(i)
            if frags is None:
                key = fam.keys[i]
                named = map(self._fragment, range(len(_LABELS)), _label_values(key))
                frags = fam.unavailable[i] = (*named, self._fragment(_FIGURE, key.name))
            labels = ",".join((*before(frags), self._code(col.reasons[row]), *after(frags)))
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

    # ---------------------------------------------------------------- per column shape
    def _family_for(self, name: str, src: tuple[FigureKey, ...], old: _Family | None) -> _Family:
        """The family of a column whose keys are not the tuple it had last time.

        Equal keys keep everything; the same set in another row order keeps the templates and last
        bytes (only where each row sits changes); other keys build the templates a column at a time.
        """
        if old is not None and old.src == src:
            old.src = src
            return old
        order = sorted(range(len(src)), key=src.__getitem__)
        keys = [src[i] for i in order]
        rows = np.array(order, np.intp)
        if old is not None and old.keys == keys:
            old.src, old.order = src, rows
            return old
        return self._family(name, src, keys, rows)

    def _family(
        self, name: str, src: tuple[FigureKey, ...], keys: list[FigureKey], order: npt.NDArray[np.intp]
    ) -> _Family:
        """Templates of one name's families, from its keys in FigureKey order."""
        n = len(keys)
        columns = [list(map(get, keys)) for get in _label_getters]  # columns[i]: label _LABELS[i] per key
        bits = np.zeros(n, np.int64)
        for i, col in enumerate(columns):
            bits |= np.fromiter(map(bool, col), np.bool_, n).astype(np.int64) << i
        metric = f"perpmon_{name}"
        fresh = f"{metric}_fresh"
        used = [i for i in _ALPHABETICAL if any(columns[i])]  # every row carries each used label
        frag_columns = [self._fragments_of(i, columns[i]) for i in used]
        labels = [f"{{{','.join(row)}}}".replace("%", "%%") for row in zip(*frag_columns, strict=True)]
        labels = labels or [""] * n
        spec = CATALOG.get(name)
        return _Family(
            name=name,
            src=src,
            keys=keys,
            order=order,
            bits=bits,
            head=_head(metric, spec.help if spec else name),
            template="".join(f"{metric}{lab} %s\n" for lab in labels),
            fresh_head=_head(fresh, f"1 when the inputs of {metric} were fresh."),
            fresh_template="".join(f"{fresh}{lab} %s\n" for lab in labels),
        )
