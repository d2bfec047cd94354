"""Receiver config for mqtt and alertmanager: checked at load with a key path, secrets read from the env."""

from __future__ import annotations

from typing import Any

import pytest

from monitor.config import parse_config
from monitor.errors import ConfigError
from monitor.notify import build_notifiers
from monitor.notify.alertmanager import AlertmanagerNotifier
from monitor.notify.mqtt import MqttNotifier
from monitor.secret import Secret

ENV = {"MQ_USER": "plant-user", "MQ_PASS": "plant-pass-123", "AM_URL": "http://127.0.0.1:9093"}


def load(*receivers: dict[str, Any]) -> Any:
    return parse_config({"receivers": list(receivers)}, ENV)


def test_mqtt_and_alertmanager_receivers_build_with_their_secrets() -> None:
    """Credentials come from the named variables as Secrets; defaults fill port, prefix and re-send."""
    cfg, secrets = load(
        {
            "name": "plant",
            "type": "mqtt",
            "host": "broker",
            "username_env": "MQ_USER",
            "password_env": "MQ_PASS",
        },
        {"name": "am", "type": "alertmanager", "url_env": "AM_URL"},
    )
    assert secrets.receiver_credentials == {"plant": (Secret("plant-user"), Secret("plant-pass-123"))}
    assert Secret("plant-pass-123") in secrets.all()
    built = build_notifiers(cfg.receivers, secrets.receiver_urls, credentials=secrets.receiver_credentials)
    mqtt, am = built["plant"], built["am"]
    assert isinstance(mqtt, MqttNotifier) and isinstance(am, AlertmanagerNotifier)
    assert repr(mqtt) == "MqttNotifier('plant', mqtt://broker:1883/perpmon)" and am.resend_s == 60.0
    assert "plant-pass-123" not in repr(secrets) + repr(mqtt)


@pytest.mark.parametrize(
    ("receiver", "path", "reason"),
    [
        ({"name": "p", "type": "mqtt"}, "receivers[0].host", "broker's host"),
        (
            {"name": "p", "type": "mqtt", "host": "b", "username_env": "MQ_USER"},
            "receivers[0].password_env",
            "both",
        ),
        (
            {"name": "p", "type": "mqtt", "host": "b", "url_env": "AM_URL"},
            "receivers[0].url_env",
            "host, port",
        ),
        ({"name": "w", "type": "webhook", "url_env": "AM_URL", "host": "b"}, "receivers[0].host", "only for"),
        (
            {"name": "w", "type": "webhook", "url_env": "AM_URL", "resend_s": 30},
            "receivers[0].resend_s",
            "only for",
        ),
        ({"name": "a", "type": "alertmanager"}, "receivers[0].url_env", "needs the variable"),
        (
            {"name": "a", "type": "alertmanager", "url_env": "AM_URL", "resend_s": 0.5},
            "receivers[0].resend_s",
            ">= 1",
        ),
        (
            {"name": "p", "type": "mqtt", "host": "b", "topic_prefix": "a/#"},
            "receivers[0].topic_prefix",
            "match",
        ),
    ],
)
def test_bad_receiver_names_key_and_reason(receiver: dict[str, Any], path: str, reason: str) -> None:
    """Each mistake stops start-up naming the key and why."""
    with pytest.raises(ConfigError) as err:
        load(receiver)
    assert err.value.path == path and reason in err.value.reason
