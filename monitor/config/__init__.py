"""Configuration package; the module moves to `records.py` first so its history follows the split."""

from monitor.config.records import *  # noqa: F403
from monitor.config.records import ApiPermission as ApiPermission
from monitor.config.records import ConfigError as ConfigError
from monitor.config.records import Secrets as Secrets
from monitor.config.records import __all__ as __all__
from monitor.config.records import _key_path as _key_path
