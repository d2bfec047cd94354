"""A user's own history in the format of Binance's public data archive (data.binance.vision).

`[simulator] replay` (and `perpmon sim --replay`) takes a directory instead of a built-in window.
The files are the ones the archive serves, unzipped or not (`.csv` or `.zip` holding one CSV), in
the archive's own tree or flattened; what a file is comes from the folders above it:

* `…/klines/<SYMBOL>/1m/<SYMBOL>-1m-<date>.csv` under a `futures` (or no) folder: the perpetual's
  1-minute klines, the path that is replayed (required for every symbol);
* the same under a `spot` folder: the spot market's klines; the index follows them;
* under `indexPriceKlines` (or `index`): the index itself (preferred over spot when both are given);
* under `markPriceKlines` (or `mark`): the venue's mark, published as it was;
* `<SYMBOL>-fundingRate-<month>.csv` (`calc_time, funding_interval_hours, last_funding_rate`): the
  settled funding, served as the symbol's history.

Kline columns are the archive's twelve (`open_time, open, high, low, close, volume, close_time, …`),
with or without the header line the archive added in 2022; spot files from 2025 on stamp
microseconds, which are read as such. Everything is checked before the simulator starts, and a
file that is not right stops it with the file, the line and the reason (`ArchiveError`): a field
that is not a number, a low above the open, a minute missing or out of order, symbols that do not
cover the same minutes, spot that does not cover the perpetual's.
"""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from monitor.sim.funding import FundingRecord
from monitor.sim.replay import EVENTS, Bar, PricePath
from monitor.sim.symbols import SYMBOLS, SymbolSpec, symbol_spec

__all__ = [
    "ArchiveError",
    "FundingRow",
    "UserPaths",
    "UserReplay",
    "funding_history",
    "load_user_replay",
    "read_funding",
    "read_klines",
    "user_paths",
]

_MINUTE_MS = 60_000
_KINDS = {
    "spot": "spot",
    "markpriceklines": "mark",
    "mark": "mark",
    "indexpriceklines": "index",
    "index": "index",
}
_SKIP = {"premiumindexklines", "aggtrades", "trades", "bookticker", "bookdepth", "metrics"}


class ArchiveError(ValueError):
    """A user file the simulator cannot replay: which file, which line (0: the file as a whole), why."""

    def __init__(self, file: Path | str, line: int, reason: str) -> None:
        self.file, self.line, self.reason = str(file), line, reason
        where = f"{self.file}:{line}" if line else self.file
        super().__init__(f"{where}: {reason}")


@dataclass(frozen=True, slots=True)
class FundingRow:
    time_ms: int
    hours: int
    rate: float


@dataclass(slots=True)
class UserReplay:
    """What a directory holds, per symbol, checked. `symbols` in the order the replay lists them."""

    root: Path
    symbols: tuple[str, ...] = ()
    perp: dict[str, list[Bar]] = field(default_factory=dict)
    spot: dict[str, list[Bar]] = field(default_factory=dict)
    index: dict[str, list[Bar]] = field(default_factory=dict)
    mark: dict[str, list[Bar]] = field(default_factory=dict)
    funding: dict[str, list[FundingRow]] = field(default_factory=dict)

    @property
    def first_ms(self) -> int:
        return self.perp[self.symbols[0]][0].open_ms


def _utc(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M UTC")


def _text(path: Path) -> str:
    if path.suffix.lower() == ".zip":
        try:
            with zipfile.ZipFile(path) as z:
                names = [n for n in z.namelist() if n.lower().endswith(".csv")]
                if len(names) != 1:
                    raise ArchiveError(
                        path, 0, f"a zip from the archive holds one CSV, this one {len(names)}"
                    )
                return z.read(names[0]).decode("utf-8")
        except zipfile.BadZipFile as e:
            raise ArchiveError(path, 0, f"not a zip file ({e})") from None
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise ArchiveError(path, 0, f"not UTF-8 text ({e.reason})") from None


def _rows(path: Path) -> list[tuple[int, list[str]]]:
    """(line number, fields) of the non-empty lines, the header line left out."""
    out = []
    for n, row in enumerate(csv.reader(io.StringIO(_text(path))), start=1):
        if not row or all(not c.strip() for c in row):
            continue
        if n == 1 and row[0].strip() and not row[0].strip().lstrip("-").isdigit():
            continue  # the header the archive writes since 2022
        out.append((n, row))
    if not out:
        raise ArchiveError(path, 0, "no rows")
    return out


def _ms(path: Path, line: int, text: str) -> int:
    try:
        t = int(text)
    except ValueError:
        raise ArchiveError(path, line, f"open time {text!r} is not an integer") from None
    return t // 1000 if t > 10**14 else t  # spot files from 2025 on are in microseconds


def read_klines(path: Path) -> list[Bar]:
    """One kline file, oldest first, each bar checked and the minutes contiguous."""
    bars: list[Bar] = []
    for line, row in _rows(path):
        if len(row) < 6:
            raise ArchiveError(path, line, f"{len(row)} fields, a kline has at least 6 (open_time … volume)")
        t = _ms(path, line, row[0].strip())
        try:
            o, h, lo, c, v = (float(x) for x in row[1:6])
        except ValueError:
            raise ArchiveError(path, line, f"a price or volume is not a number: {row[1:6]}") from None
        if not all(x > 0 for x in (o, h, lo, c)) or v < 0:
            raise ArchiveError(path, line, "prices must be positive and the volume not negative")
        if not lo <= min(o, c) <= max(o, c) <= h:
            raise ArchiveError(path, line, f"low {lo} ≤ open {o}, close {c} ≤ high {h} does not hold")
        if bars:
            gap = t - bars[-1].open_ms
            if gap <= 0:
                raise ArchiveError(
                    path, line, f"{_utc(t)} is not after the line before ({_utc(bars[-1].open_ms)})"
                )
            if gap != _MINUTE_MS:
                if gap % _MINUTE_MS:
                    raise ArchiveError(
                        path, line, f"open time {t} is not on the minute grid of the lines before"
                    )
                missing = gap // _MINUTE_MS - 1
                raise ArchiveError(
                    path,
                    line,
                    f"gap: {missing} minute(s) missing after {_utc(bars[-1].open_ms)} (1-minute klines only)",
                )
        bars.append(Bar(t, o, h, lo, c, v))
    return bars


def read_funding(path: Path) -> list[FundingRow]:
    """One funding-rate file (`calc_time, funding_interval_hours, last_funding_rate`), oldest first."""
    out: list[FundingRow] = []
    for line, row in _rows(path):
        if len(row) < 3:
            raise ArchiveError(
                path, line, f"{len(row)} fields; calc_time, funding_interval_hours, last_funding_rate"
            )
        t = _ms(path, line, row[0].strip())
        try:
            hours, rate = int(row[1]), float(row[2])
        except ValueError:
            raise ArchiveError(
                path, line, f"interval {row[1]!r} or rate {row[2]!r} is not a number"
            ) from None
        if hours not in (1, 2, 4, 8):
            raise ArchiveError(
                path, line, f"funding interval {hours} h is not one the venue uses (1, 2, 4, 8)"
            )
        if not -0.05 < rate < 0.05:
            raise ArchiveError(path, line, f"rate {rate} is not a fraction per interval (0.0001 = 0.01 %)")
        if out and t <= out[-1].time_ms:
            raise ArchiveError(path, line, "settlements must be in time order")
        out.append(FundingRow(t, hours, rate))
    return out


def _kind(path: Path, root: Path) -> str | None:
    if "fundingrate" in path.name.lower():
        return "funding"
    parts = [p.lower() for p in path.relative_to(root).parts[:-1]]
    if any(p in _SKIP for p in parts):
        return None
    for p in reversed(parts):
        if p in _KINDS:
            return _KINDS[p]
    return "perp"


def _merge(files: list[tuple[Path, list[Bar]]]) -> list[Bar]:
    """Daily files of one series joined, oldest first; the joins must be contiguous too."""
    files.sort(key=lambda f: f[1][0].open_ms)
    out: list[Bar] = []
    for path, bars in files:
        if out and bars[0].open_ms != out[-1].open_ms + _MINUTE_MS:
            raise ArchiveError(
                path, 1, f"starts at {_utc(bars[0].open_ms)}: the file before ends at "
                f"{_utc(out[-1].open_ms)} (overlap or missing minutes between files)",
            )  # fmt: skip
        out += bars
    return out


def load_user_replay(root: Path | str) -> UserReplay:
    """Every archive file under `root`, read and checked against each other."""
    root = Path(root).expanduser()
    if not root.is_dir():
        built_in = ", ".join(EVENTS)
        raise ArchiveError(
            root, 0, f"not a directory: a replay is one of {built_in}, or a folder of archive files"
        )
    found: dict[tuple[str, str], list[tuple[Path, list[Bar]]]] = {}
    funding: dict[str, list[FundingRow]] = {}
    for path in sorted(root.rglob("*")):
        if not path.is_file() or path.suffix.lower() not in (".csv", ".zip"):
            continue
        kind = _kind(path, root)
        if kind is None:
            continue
        symbol = path.name.split("-", 1)[0].upper()
        if kind == "funding":
            funding.setdefault(symbol, []).extend(read_funding(path))
            continue
        parts = path.stem.split("-")
        if len(parts) > 1 and parts[1] != "1m":
            raise ArchiveError(path, 0, f"{parts[1]} klines; the replay takes 1-minute ones (…-1m-…)")
        found.setdefault((kind, symbol), []).append((path, read_klines(path)))
    user = UserReplay(root)
    for (kind, symbol), files in found.items():
        getattr(user, kind)[symbol] = _merge(files)
    if not user.perp:
        raise ArchiveError(root, 0, "no perpetual klines (…/klines/<SYMBOL>/1m/<SYMBOL>-1m-<date>.csv)")
    user.symbols = tuple(sorted(user.perp, key=lambda s: (s != "BTCUSDT", s)))
    base = user.perp[user.symbols[0]]
    span = (base[0].open_ms, base[-1].open_ms)
    if len(base) < 2:
        raise ArchiveError(root, 0, f"{user.symbols[0]}: a replay needs at least two minutes")
    for kind in ("perp", "spot", "index", "mark"):
        for symbol, bars in getattr(user, kind).items():
            path = found[(kind, symbol)][0][0]
            if symbol not in user.perp:
                raise ArchiveError(path, 0, f"{kind} klines of {symbol}, which has no perpetual klines here")
            if kind == "perp" and (bars[0].open_ms, bars[-1].open_ms) != span:
                raise ArchiveError(
                    path, 0, f"{symbol} covers {_utc(bars[0].open_ms)} → {_utc(bars[-1].open_ms)}, "
                    f"{user.symbols[0]} {_utc(span[0])} → {_utc(span[1])}: "
                    "every symbol must cover the same minutes",
                )  # fmt: skip
            if kind != "perp" and not (bars[0].open_ms <= span[0] and bars[-1].open_ms >= span[1]):
                raise ArchiveError(
                    path, 0, f"{kind} klines cover {_utc(bars[0].open_ms)} → {_utc(bars[-1].open_ms)}, "
                    f"not the perpetual's {_utc(span[0])} → {_utc(span[1])}",
                )  # fmt: skip
    for symbol, rows in funding.items():
        rows.sort(key=lambda r: r.time_ms)
        user.funding[symbol] = rows
    return user


@dataclass(frozen=True, slots=True)
class UserPaths:
    """A user replay as the market takes it: each symbol's perpetual, index and mark paths on the
    same replay-time grid (seconds from the first minute), and the symbols' specs."""

    specs: tuple[SymbolSpec, ...]
    perp: dict[str, PricePath]
    index: dict[str, PricePath]  # from index klines, else spot klines; absent: simulated
    mark: dict[str, PricePath]  # absent: the venue's median rule
    epoch_ms: int


def user_paths(user: UserReplay) -> UserPaths:
    """The paths of a checked user replay; a symbol the simulator does not list is refused."""
    specs = []
    for s in user.symbols:
        spec = symbol_spec(s)
        if spec is None:
            known = ", ".join(x.symbol for x in SYMBOLS)
            raise ArchiveError(user.root, 0, f"{s}: the simulator lists {known} (their filters and tiers)")
        specs.append(spec)
    first, last = user.first_ms, user.perp[user.symbols[0]][-1].open_ms

    def within(bars: list[Bar]) -> PricePath:
        return PricePath.from_bars([b for b in bars if first <= b.open_ms <= last])

    return UserPaths(
        tuple(specs),
        {s: within(b) for s, b in user.perp.items()},
        {
            s: within(user.index.get(s) or user.spot[s])
            for s in user.symbols
            if s in user.index or s in user.spot
        },
        {s: within(b) for s, b in user.mark.items()},
        first,
    )


def funding_history(rows: list[FundingRow], symbol: str, before_ms: int, end_ms: int) -> list[FundingRecord]:
    """The user's settlements up to the replay's first minute, moved onto the wall clock so the last
    of them lands on `end_ms` (the venue's latest settlement now), the spacing kept."""
    past = [r for r in rows if r.time_ms // 1000 * 1000 <= before_ms]  # calc_time carries ms of jitter
    if not past:
        return []
    shift = end_ms - past[-1].time_ms // 1000 * 1000
    return [FundingRecord(symbol, r.time_ms // 1000 * 1000 + shift, r.rate, None) for r in past]
