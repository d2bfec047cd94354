"""plan_reload decides what a reload touches, and refuses what only a restart can change."""

from __future__ import annotations

import msgspec
import pytest

from monitor.config import Config, ShardConfig, load_config
from monitor.errors import ConfigError
from monitor.reload import plan_reload
from tests.unit.deploy._paths import ROOT, SIM_ENV

replace = msgspec.structs.replace


@pytest.fixture(scope="module")
def cfg() -> Config:
    return load_config(ROOT / "config.toml", env=SIM_ENV)[0]


def test_an_identical_config_touches_nothing(cfg: Config) -> None:
    """Same file: no venue restarts, rules and receivers kept."""
    plan = plan_reload(cfg, cfg)
    assert (plan.venues, plan.rules_changed, plan.receivers_changed) == ((), False, False)


def test_thresholds_and_receivers_swap_without_touching_collectors(cfg: Config) -> None:
    """A new threshold and a new receiver change rules and receivers, not collectors."""
    rule = replace(cfg.rules[0], for_s=99.0)
    new = replace(
        cfg, rules=(rule, *cfg.rules[1:]), receivers=(*cfg.receivers, replace(cfg.receivers[0], name="b"))
    )
    plan = plan_reload(cfg, new)
    assert (plan.venues, plan.rules_changed, plan.receivers_changed) == ((), True, True)


def test_a_changed_venue_or_a_new_account_restarts_that_venue(cfg: Config) -> None:
    """poll_s on the venue, or an account added to it, restarts only its collector."""
    venue = replace(cfg.venues[0], poll_s=2.0)
    assert plan_reload(cfg, replace(cfg, venues=(venue, *cfg.venues[1:]))).venues == ("binance",)
    extra = replace(cfg.accounts[0], name="extra")
    assert plan_reload(cfg, replace(cfg, accounts=(*cfg.accounts, extra))).venues == ("binance",)


@pytest.mark.parametrize(
    ("change", "path"),
    [
        (lambda c: replace(c, http=replace(c.http, port=9999)), "http"),
        (lambda c: replace(c, state_dir="/elsewhere"), "state_dir"),
        (lambda c: replace(c, shard=ShardConfig(index=0, count=2)), "shard"),
        (
            lambda c: replace(c, evaluation=replace(c.evaluation, history_points=64)),
            "evaluation.history_points",
        ),
        (lambda c: replace(c, venues=()), "venues"),
        (lambda c: replace(c, venues=(replace(c.venues[0], spot_symbols=()), *c.venues[1:])), "venues"),
    ],
)
def test_restart_only_changes_are_refused(cfg: Config, change: object, path: str) -> None:
    """HTTP bind, state dir, shard, history size, or removing a venue or a symbol needs a restart."""
    with pytest.raises(ConfigError) as exc:
        plan_reload(cfg, change(cfg))  # type: ignore[operator]
    assert exc.value.path == path


def test_a_removed_account_restarts_its_venue_and_is_forgotten(cfg: Config) -> None:
    """Dropping an account is a reload, not a restart: its venue's collector restarts without it."""
    assert len(cfg.accounts) > 1
    plan = plan_reload(cfg, replace(cfg, accounts=cfg.accounts[1:]))
    gone = cfg.accounts[0]
    assert plan.forgotten == ((gone.venue, gone.name),) and plan.venues == (gone.venue,)
    assert plan_reload(cfg, cfg).forgotten == ()


def test_a_heartbeat_change_rebuilds_the_rule_engine(cfg: Config) -> None:
    """heartbeat_s lives in [evaluation] but belongs to the rule engine, which a reload rebuilds."""
    new = replace(cfg, evaluation=replace(cfg.evaluation, heartbeat_s=5.0))
    assert plan_reload(cfg, new).rules_changed
