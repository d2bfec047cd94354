"""Whether a book kept between ticks still holds: the account records and holdings it was built from.

Why its own module: three stages (advice's legs and hedge book, the VaR stage's legs) keep a book
built from the account records and rebuild it only when those say something new; the account
stream sends a new record each second that mostly says what the last one said, so the records are
compared by content, once per tick for all three (`_Compared`). Split from advice_legs.py (issue 16:
no module over 400 lines), bodies unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar, Protocol, TypeGuard, TypeVar

from monitor.records import AccountSnapshot, Holding
from monitor.store.state import Snapshot

__all__ = ["BookInputs", "KeptBook", "book_inputs", "same_accounts", "same_book"]


class _Compared:
    """The last comparison `same_accounts` made, by the records' identity: three stages ask each tick.

    Module-level on purpose: a memo of one comparison that holds the records it compared, so it is
    never wrong for any caller (two daemons only miss it), and the stages share it within a tick.
    """

    last: ClassVar[tuple[tuple[AccountSnapshot, ...], tuple[AccountSnapshot, ...], bool] | None] = None


def same_accounts(old: Sequence[AccountSnapshot], new: Sequence[AccountSnapshot]) -> bool:
    """The same positions and balances, record by record (the account stream sends a new record each
    second that mostly says what the last one said; a NaN field not the shared `math.nan` reads as a
    change, which only costs a rebuild)."""
    if len(old) != len(new):
        return False
    seen = _Compared.last
    if (
        seen is not None
        and len(seen[0]) == len(old)
        and all(a is b for a, b in zip(seen[0], old, strict=True))
        and all(a is b for a, b in zip(seen[1], new, strict=True))
    ):
        return seen[2]
    same = all(
        x is y or (x.positions == y.positions and x.balances == y.balances)
        for x, y in zip(old, new, strict=True)
    )
    _Compared.last = (tuple(old), tuple(new), same)
    return same


BookInputs = tuple[tuple[tuple[str, str], ...], tuple[Holding, ...], tuple[AccountSnapshot, ...]]


class KeptBook(Protocol):
    """A book kept between ticks by the account records and holdings it was built from."""

    @property
    def names(self) -> tuple[tuple[str, str], ...]: ...
    @property
    def holdings(self) -> tuple[Holding, ...]: ...
    @property
    def records(self) -> tuple[AccountSnapshot, ...]: ...


def book_inputs(snap: Snapshot) -> BookInputs:
    """(account names, holdings, account records) in the snapshot's order: what a kept book is keyed by."""
    return tuple(snap.accounts), tuple(snap.holdings.values()), tuple(snap.accounts.values())


_K = TypeVar("_K", bound=KeptBook)


def same_book(old: _K | None, inputs: BookInputs) -> TypeGuard[_K]:
    """`old` was built from these inputs: the same accounts and holdings, records equal in content."""
    names, holdings, records = inputs
    return (
        old is not None
        and old.names == names
        and old.holdings == holdings
        and same_accounts(old.records, records)
    )
