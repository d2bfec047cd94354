"""What `perpmon check-config` proves beyond the schema, so it passes exactly when `run` would start.

`load_config` checks types, references and secrets, but two checks live with their owners: the
rule compiler (unique, non-reserved alert names; levels rising in severity) and the notifier
factories (each receiver's URL, chat and login). Running both here, without any I/O, keeps the
systemd unit's `ExecStartPre=perpmon check-config` from approving a file the daemon then refuses.
"""

from __future__ import annotations

from monitor.config import Config, Secrets
from monitor.notify import build_notifiers
from monitor.rules.model import compile_rules

__all__ = ["validate"]


def validate(cfg: Config, secrets: Secrets) -> None:
    """Raise ConfigError (key path + reason) for what only starting the daemon would have found."""
    compile_rules(cfg.rules)
    build_notifiers(cfg.receivers, secrets.receiver_urls, credentials=secrets.receiver_credentials)
