"""The [mqtt] section: TLS files are read at config time, login from the environment, keys in pairs."""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

import pytest

from monitor.config import MqttConfig, mqtt_tls_context, parse_config
from monitor.errors import ConfigError
from tests.support.tls import make_pki


def load(mqtt: dict[str, Any], env: dict[str, str] | None = None) -> Any:
    return parse_config({"mqtt": {"enabled": True, **mqtt}}, env=env or {})


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return make_pki(tmp_path_factory.mktemp("pki"))


def test_tls_with_ca_and_client_certificate_builds_a_verifying_context(pki: Any) -> None:
    """The context verifies the broker against the CA (and its host name) and presents our certificate."""
    cfg, _ = load(
        {
            "tls": True,
            "ca_file": str(pki.ca),
            "cert_file": str(pki.client_cert),
            "key_file": str(pki.client_key),
        }
    )
    ctx = mqtt_tls_context(cfg.mqtt)
    assert isinstance(ctx, ssl.SSLContext)
    assert ctx.verify_mode is ssl.CERT_REQUIRED and ctx.check_hostname
    assert mqtt_tls_context(MqttConfig(enabled=True)) is None  # plain TCP by default
    insecure = MqttConfig(enabled=True, tls=True, ca_file=str(pki.ca), tls_insecure=True)
    ctx = mqtt_tls_context(insecure)
    assert ctx is not None and not ctx.check_hostname and ctx.verify_mode is ssl.CERT_REQUIRED


@pytest.mark.parametrize(
    ("mqtt", "path", "reason"),
    [
        ({"tls": True, "ca_file": "/nonexistent/ca.pem"}, "mqtt.ca_file", "cannot read /nonexistent/ca.pem"),
        ({"tls": True, "cert_file": "CLIENT", "key_file": "/nonexistent/k"}, "mqtt.key_file", "cannot read"),
        ({"tls": True, "cert_file": "CLIENT"}, "mqtt.key_file", "go together"),
        ({"tls": True, "key_file": "KEY"}, "mqtt.cert_file", "go together"),
        ({"ca_file": "CA"}, "mqtt.ca_file", "needs mqtt.tls = true"),
        ({"tls_insecure": True}, "mqtt.tls_insecure", "needs mqtt.tls = true"),
        ({"tls": True, "ca_file": "KEY"}, "mqtt.ca_file", "not a PEM CA bundle"),
        (
            {"tls": True, "cert_file": "CLIENT", "key_file": "SERVER_KEY"},
            "mqtt.cert_file",
            "do not load as a pair",
        ),
        ({"max_age_s": 0}, "mqtt.max_age_s", "> 0"),
    ],
)
def test_bad_tls_settings_name_the_key(pki: Any, mqtt: dict[str, Any], path: str, reason: str) -> None:
    """Each is refused at load (so by check-config), with the key and why, before any connection."""
    files = {"CA": pki.ca, "CLIENT": pki.client_cert, "KEY": pki.client_key, "SERVER_KEY": pki.server_key}
    mqtt = {k: str(files.get(v, v)) if isinstance(v, str) else v for k, v in mqtt.items()}
    with pytest.raises(ConfigError) as err:
        load(mqtt)
    assert err.value.path == path
    assert reason in err.value.reason


def test_login_comes_from_the_environment_and_never_prints() -> None:
    """Username and password are read from the named variables as Secrets; a lone password is refused."""
    cfg, secrets = load(
        {"username_env": "MQTT_USER", "password_env": "MQTT_PASS"},
        {"MQTT_USER": "u", "MQTT_PASS": "pw-s3cr3t"},
    )
    assert secrets.mqtt_credentials is not None
    user, password = secrets.mqtt_credentials
    assert (user.reveal(), password.reveal()) == ("u", "pw-s3cr3t")
    assert "pw-s3cr3t" not in f"{secrets!r} {cfg!r} {password}"
    assert any(s.reveal() == "pw-s3cr3t" for s in secrets.all())  # so the log redactor knows it
    with pytest.raises(ConfigError) as err:
        load({"password_env": "MQTT_PASS"}, {"MQTT_PASS": "pw"})
    assert err.value.path == "mqtt.username_env"
    with pytest.raises(ConfigError) as err:
        load({"username_env": "MQTT_USER", "password_env": "MQTT_PASS"}, {"MQTT_USER": "u"})
    assert err.value.path == "mqtt.password_env" and "MQTT_PASS is not set" in err.value.reason


def test_tls_files_are_not_read_while_mqtt_is_disabled(tmp_path: Path) -> None:
    """A disabled section may name files of another host; only an enabled one must load them."""
    cfg, _ = parse_config(
        {"mqtt": {"enabled": False, "tls": True, "ca_file": str(tmp_path / "absent.pem")}}, env={}
    )
    assert cfg.mqtt.ca_file is not None
