"""Sharding: which accounts, holdings and venues one perpmon instance watches.

Past one machine, N instances share one config file and each watches a slice of it. An account
(or an off-exchange holding) belongs to exactly one shard, chosen by rendezvous hashing of its
name: every instance computes the same owner without talking to the others, and growing from N to
N+1 shards moves only about 1/(N+1) of the accounts. A venue is watched by every shard that has
an account or a holding on it (market data is cheap and each shard needs its own marks); a venue
nobody references is hashed like an account. Book figures per asset are therefore partial sums
per shard, and `sum by (asset)` across shards is the whole book.

The shard comes from `[shard]` in the config or from `perpmon run --shard I/N`, where I may be a
StatefulSet pod name ending in its ordinal (`perpmon-2/4`), so a pod's shard is its ordinal.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator

import msgspec
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from monitor.config import Config, ShardConfig
from monitor.errors import ConfigError

__all__ = ["ShardMetrics", "parse_shard", "select_shard", "shard_of"]

_SPEC = re.compile(r"^(?:(?P<index>\d+)|.+-(?P<ordinal>\d+))/(?P<count>\d+)$")


def shard_of(name: str, count: int) -> int:
    """The shard owning `name`: the highest sha256 weight wins (stable across processes, unlike hash())."""
    if count <= 1:
        return 0
    return max(range(count), key=lambda i: hashlib.sha256(f"{i}\x1f{name}".encode()).digest())


def parse_shard(spec: str) -> ShardConfig:
    """Parse `I/N` (I a number or a pod name ending in `-<ordinal>`) into a checked ShardConfig."""
    m = _SPEC.match(spec.strip())
    if m is None:
        raise ConfigError("--shard", f"{spec!r} is not INDEX/COUNT (e.g. 1/4 or perpmon-1/4)")
    index = int(m.group("index") or m.group("ordinal"))
    count = int(m.group("count"))
    try:
        shard = msgspec.convert({"index": index, "count": count}, ShardConfig)
    except msgspec.ValidationError as exc:
        raise ConfigError("--shard", str(exc)) from None
    if index >= count:
        raise ConfigError("--shard", f"index {index} must be below the count {count}")
    return shard


def select_shard(cfg: Config) -> Config:
    """The part of `cfg` that shard `cfg.shard` watches; the whole config when there is one shard."""
    n, me = cfg.shard.count, cfg.shard.index
    if n == 1:
        return cfg
    accounts = tuple(a for a in cfg.accounts if shard_of(a.name, n) == me)
    holdings = tuple(h for h in cfg.holdings if shard_of(h.name, n) == me)
    referenced = {a.venue for a in cfg.accounts} | {h.price_venue for h in cfg.holdings}
    needed = {a.venue for a in accounts} | {h.price_venue for h in holdings}
    venues = tuple(
        v for v in cfg.venues if v.name in needed or (v.name not in referenced and shard_of(v.name, n) == me)
    )
    return msgspec.structs.replace(cfg, accounts=accounts, holdings=holdings, venues=venues)


class ShardMetrics(Collector):
    """`perpmon_shard_info{shard_index, shard_count}`: lets a rule check Prometheus' `shard` label.

    The label names differ from `shard` on purpose: Prometheus adds `shard` as a target label
    (relabelling), and an exposed label of the same name would be renamed `exported_shard`.
    """

    def __init__(self, shard: ShardConfig) -> None:
        self._shard = shard

    def collect(self) -> Iterator[Metric]:
        info = GaugeMetricFamily(
            "perpmon_shard_info",
            "The shard this instance watches, always 1.",
            labels=["shard_index", "shard_count"],
        )
        info.add_metric([str(self._shard.index), str(self._shard.count)], 1.0)
        yield info
