"""Reading `config.toml`: decode into the records, run the checks, resolve the secrets."""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import msgspec

from monitor.config.checks import _check_references
from monitor.config.environment import Secrets, _read_secrets
from monitor.config.records import AccountConfig, Config
from monitor.errors import ConfigError
from monitor.secret import Secret
from monitor.venues import spoken

_PATH_RE = re.compile(r"at `\$(.*)`")
_UNKNOWN_RE = re.compile(r"unknown field `([^`]*)`")


def _key_path(msg: str) -> tuple[str, str]:
    """Turn msgspec's "Expected ... - at `$.a[0].b`" into ("a[0].b", "Expected ...")."""
    m = _PATH_RE.search(msg)
    path = m.group(1).lstrip(".") if m else ""
    reason = msg[: m.start()].rstrip(" -") if m else msg
    unknown = _UNKNOWN_RE.search(reason)
    if unknown:  # name the offending key itself, not its parent
        path = f"{path}.{unknown.group(1)}" if path else unknown.group(1)
        reason = "unknown key (check the spelling; see config.toml for every key)"
    return path, reason


def parse_config(data: Mapping[str, Any], env: Mapping[str, str] | None = None) -> tuple[Config, Secrets]:
    """Validate decoded TOML and resolve the secret variables it names."""
    try:
        cfg = msgspec.convert(dict(data), Config, strict=True)
    except msgspec.ValidationError as exc:
        path, reason = _key_path(str(exc))
        raise ConfigError(path, reason) from None
    _check_references(cfg)
    secrets = _read_secrets(cfg, os.environ if env is None else env)
    return _with_universe_accounts(cfg, secrets)


def _with_universe_accounts(cfg: Config, secrets: Secrets) -> tuple[Config, Secrets]:
    """The generated simulator accounts, watched on the first simulated Binance venue with their
    derived keys (monitor/sim/universe.py); a config without such a venue leaves them to `perpmon sim`."""
    s = cfg.simulator
    venue = next((v for v in cfg.venues if v.simulator and spoken(v).universe), None)
    if not (s.enabled and s.universe_accounts and venue is not None):
        return cfg, secrets
    from monitor.sim.universe import universe_account_names, universe_keys

    names = universe_account_names(s.universe_accounts)
    added = tuple(
        AccountConfig(
            name=n,
            venue=venue.name,
            api_key_env="PERPMON_UNIVERSE_KEY",  # never read: the keys are derived
            api_secret_env="PERPMON_UNIVERSE_SECRET",
        )
        for n in names
    )
    keys = {n: tuple(Secret(x) for x in universe_keys(s.seed, n)) for n in names}
    api = secrets.api_keys | {n: (k[0], k[1]) for n, k in keys.items()}
    sim = secrets.sim_keys | {n: (k[0], k[1]) for n, k in keys.items()}
    return (
        msgspec.structs.replace(cfg, accounts=cfg.accounts + added),
        msgspec.structs.replace(secrets, api_keys=api, sim_keys=sim),
    )


def load_config(path: str | Path, env: Mapping[str, str] | None = None) -> tuple[Config, Secrets]:
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise ConfigError("", f"cannot read {p}: {exc.strerror}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError("", f"{p} is not valid TOML: {exc}") from None
    return parse_config(data, env)
