"""Sharding splits accounts and holdings deterministically and keeps the venues each shard needs."""

from __future__ import annotations

import os
import subprocess
import sys

import msgspec
import pytest

from monitor.config import Config, ShardConfig, load_config, parse_config
from monitor.errors import ConfigError
from monitor.shard import parse_shard, select_shard, shard_of
from tests.unit.deploy._paths import ROOT, SIM_ENV

NAMES = [f"acct-{i}" for i in range(400)]


def test_owner_is_stable_and_spread() -> None:
    """The same name always lands on the same shard, and 400 names spread over 4 shards evenly."""
    owners = [shard_of(n, 4) for n in NAMES]
    assert owners == [shard_of(n, 4) for n in NAMES]
    counts = [owners.count(i) for i in range(4)]
    assert min(counts) > 70, counts


def test_growing_moves_only_the_new_shards_share() -> None:
    """Going from 4 to 5 shards moves only names to the new shard (rendezvous hashing)."""
    moved = [n for n in NAMES if shard_of(n, 4) != shard_of(n, 5)]
    assert all(shard_of(n, 5) == 4 for n in moved)
    assert 0.1 < len(moved) / len(NAMES) < 0.3


@pytest.mark.parametrize(
    ("spec", "index", "count"), [("0/1", 0, 1), ("3/4", 3, 4), ("perpmon-2/4", 2, 4), ("a-b-c-10/12", 10, 12)]
)
def test_parse_shard_accepts_indexes_and_pod_names(spec: str, index: int, count: int) -> None:
    """INDEX/COUNT, where INDEX may be a StatefulSet pod name ending in its ordinal."""
    assert parse_shard(spec) == ShardConfig(index=index, count=count)


@pytest.mark.parametrize("spec", ["4/4", "perpmon/2", "1", "-1/2", "1/0", "x-1/2/3"])
def test_parse_shard_refuses_nonsense(spec: str) -> None:
    """An index outside the count or a malformed spec is a config error naming --shard."""
    with pytest.raises(ConfigError, match="--shard"):
        parse_shard(spec)


def _book(count: int, index: int) -> Config:
    cfg, _ = load_config(ROOT / "config.toml", env=SIM_ENV)
    accounts = [
        msgspec.structs.replace(cfg.accounts[0], name=name) for name in ("hedge", "carry", "desk-a", "degen")
    ]
    venues = tuple(v for v in cfg.venues if v.name == cfg.accounts[0].venue)  # every account is on it
    return msgspec.structs.replace(
        cfg, venues=venues, accounts=tuple(accounts), shard=ShardConfig(index=index, count=count)
    )


def test_shards_partition_accounts_and_holdings() -> None:
    """Every account and holding is watched by exactly one of the shards."""
    parts = [select_shard(_book(3, i)) for i in range(3)]
    accounts = sorted(a.name for p in parts for a in p.accounts)
    assert accounts == sorted(a.name for a in _book(1, 0).accounts)
    assert sorted(h.name for p in parts for h in p.holdings) == ["custody"]


def test_a_shard_keeps_the_venues_its_accounts_and_holdings_use() -> None:
    """A shard with accounts on a venue watches it; one with nothing there does not."""
    for i in range(3):
        part = select_shard(_book(3, i))
        used = {a.venue for a in part.accounts} | {h.price_venue for h in part.holdings}
        assert {v.name for v in part.venues} == used


def test_one_shard_is_the_whole_config() -> None:
    """With count 1 nothing is filtered."""
    cfg = _book(1, 0)
    assert select_shard(cfg) is cfg


def test_config_refuses_an_index_beyond_the_count() -> None:
    """[shard] index must be below count."""
    with pytest.raises(ConfigError, match=r"shard\.index"):
        parse_config({"shard": {"index": 2, "count": 2}})


def test_check_config_lists_what_a_shard_watches() -> None:
    """`perpmon check-config --shard` tells the operator which accounts the shard takes."""
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "monitor",
            "check-config",
            "--config",
            str(ROOT / "config.toml"),
            "--shard",
            "0/2",
        ],
        capture_output=True,
        text=True,
        env={**os.environ, **SIM_ENV},
        cwd=ROOT,
        check=True,
    )
    assert "shard 0/2 watches" in out.stdout
    assert "'hedge', 'degen'" in out.stdout  # both hash to shard 0 of 2
