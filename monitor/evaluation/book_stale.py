"""Which venues' data is not fresh now, by the asset it is about: the book stage's freshness index."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping

from monitor.evaluation.feeds import stale_streams
from monitor.evaluation.leg_exposure import base_asset

__all__ = ["StaleIndex", "base_asset"]


class StaleIndex:
    """Which venues' data is not fresh now, indexed once per tick by the asset it is about.

    A book figure of an asset is not fresh when, among the venues feeding it, a stream about the
    asset (its marks, its spot books) is not fresh; and when any venue's account feed is not fresh,
    since an account perpmon cannot see may hold any asset. Book levels feed only the cost to
    close, so a depth stream never counts. Built in one pass over the feeds: asking per asset and
    per (venue, asset) by rescanning every stream was quadratic in the symbols watched.
    """

    __slots__ = ("_accounts", "_by_asset")

    def __init__(self, fresh: Mapping[tuple[str, str], bool] | None) -> None:
        self._accounts: set[str] = set()
        self._by_asset: dict[str, set[str]] = defaultdict(set)
        for venue, stream in stale_streams(fresh or {}):  # the feed stage's list: not every stream again
            if stream.startswith("depth:"):
                continue
            if stream.startswith("account:"):
                self._accounts.add(venue)
            else:
                self._by_asset[base_asset(stream.rsplit(":", 1)[-1])].add(venue)

    def __bool__(self) -> bool:
        """True when some data is not fresh."""
        return bool(self._accounts or self._by_asset)

    def assets(self, assets: Iterable[str]) -> list[str]:
        """Those of `assets` that some venue may be stale about (every one while an account feed is)."""
        if self._accounts:
            return list(assets)
        return [a for a in assets if a in self._by_asset]

    def venues(self, venues: set[str], asset: str) -> set[str]:
        """Venues among `venues` whose data about `asset` is stale, and every venue with a stale account."""
        about = self._by_asset.get(asset)
        return self._accounts | (about & venues) if about else set(self._accounts)
