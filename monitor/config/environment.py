"""Secrets from the environment: the file names variables, read here and wrapped in `Secret`."""

from __future__ import annotations

from collections.abc import Mapping

import msgspec

from monitor.config.records import Config
from monitor.errors import ConfigError
from monitor.secret import Secret, url_problem


class Secrets(msgspec.Struct, frozen=True, kw_only=True):
    """Secrets resolved from the environment, by owner name."""

    api_keys: dict[str, tuple[Secret, Secret]]  # account name → (key, secret)
    sim_keys: dict[str, tuple[Secret, Secret]]  # simulator account name → (key, secret)
    receiver_urls: dict[str, Secret]  # receiver name → URL
    mqtt_credentials: tuple[Secret, Secret] | None = None  # (username, password)
    api_passwords: dict[str, Secret] = {}  # account name → key passphrase (okx)
    receiver_credentials: dict[str, tuple[Secret, Secret]] = {}  # mqtt receiver name → (username, password)
    sim_passwords: dict[str, Secret] = {}  # simulator account name → key passphrase (okx)

    def all(self) -> list[Secret]:
        out: list[Secret] = [s for pair in self.api_keys.values() for s in pair]
        out += list(self.api_passwords.values())
        out += [s for pair in self.sim_keys.values() for s in pair]
        out += list(self.sim_passwords.values())
        out += list(self.receiver_urls.values())
        if self.mqtt_credentials is not None:
            out += list(self.mqtt_credentials)
        out += [s for pair in self.receiver_credentials.values() for s in pair]
        return out


def _env(env: Mapping[str, str], path: str, name: str) -> Secret:
    value = env.get(name, "")
    if not value:
        raise ConfigError(path, f"environment variable {name} is not set (secrets never live in the file)")
    return Secret(value)


def _read_secrets(cfg: Config, env: Mapping[str, str]) -> Secrets:
    api = {
        a.name: (
            _env(env, f"accounts[{i}].api_key_env", a.api_key_env),
            _env(env, f"accounts[{i}].api_secret_env", a.api_secret_env),
        )
        for i, a in enumerate(cfg.accounts)
        if a.api_key_env is not None and a.api_secret_env is not None  # else read by address (checks.py)
    }
    sim: dict[str, tuple[Secret, Secret]] = {}
    if cfg.simulator.enabled:
        sim = {
            a.name: (
                _env(env, f"simulator.accounts[{i}].api_key_env", a.api_key_env),
                _env(env, f"simulator.accounts[{i}].api_secret_env", a.api_secret_env),
            )
            for i, a in enumerate(cfg.simulator.accounts)
            if a.api_key_env is not None and a.api_secret_env is not None  # else read by address
        }
    urls = {
        r.name: _receiver_url(env, f"receivers[{i}].url_env", r.url_env, r.type)
        for i, r in enumerate(cfg.receivers)
        if r.url_env is not None
    }
    creds = None
    m = cfg.mqtt
    if m.enabled and m.password_env is not None and m.username_env is None:
        raise ConfigError("mqtt.username_env", "a password needs the variable holding its username")
    if m.enabled and m.username_env is not None:
        if m.password_env is None:
            raise ConfigError("mqtt.password_env", "a username needs the variable holding its password")
        creds = (
            _env(env, "mqtt.username_env", m.username_env),
            _env(env, "mqtt.password_env", m.password_env),
        )
    passwords = {
        a.name: _env(env, f"accounts[{i}].api_password_env", a.api_password_env)
        for i, a in enumerate(cfg.accounts)
        if a.api_password_env is not None
    }
    sim_passwords = {
        a.name: _env(env, f"simulator.accounts[{i}].api_password_env", a.api_password_env)
        for i, a in enumerate(cfg.simulator.accounts)
        if cfg.simulator.enabled and a.api_password_env is not None
    }
    return Secrets(
        api_keys=api,
        sim_keys=sim,
        receiver_urls=urls,
        mqtt_credentials=creds,
        api_passwords=passwords,
        receiver_credentials=_receiver_credentials(cfg, env),
        sim_passwords=sim_passwords,
    )


def _receiver_url(env: Mapping[str, str], path: str, name: str, kind: str) -> Secret:
    """The receiver's URL, refused here when it cannot work; the reason names the variable, never the URL."""
    url = _env(env, path, name)
    problem = url_problem(url.reveal()) if kind not in ("console", "mqtt") else ""
    if problem:
        raise ConfigError(path, f"the URL in {name} cannot be used: {problem}")
    return url


def _receiver_credentials(cfg: Config, env: Mapping[str, str]) -> dict[str, tuple[Secret, Secret]]:
    """(username, password) of receivers that log in with them (mqtt); `_check_receiver` paired the names."""
    return {
        r.name: (
            _env(env, f"receivers[{i}].username_env", r.username_env),
            _env(env, f"receivers[{i}].password_env", r.password_env),
        )
        for i, r in enumerate(cfg.receivers)
        if r.username_env is not None and r.password_env is not None
    }
