"""A production start (`simulator` off) loads none of the simulator, whatever venues it watches.

The simulator is about a third of `monitor/`; a process that never serves it should not pay its
import time or memory. A fresh interpreter is the only honest check: in this test process other
tests have imported the simulator long before.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import json, sys
    from monitor.app import Daemon
    from monitor.config import parse_config

    env = {"K": "key-1234567890", "S": "secret-1234567890", "P": "pass-1234567890"}
    def account(name, venue):
        return {"name": name, "venue": venue, "api_key_env": "K", "api_secret_env": "S"}
    data = {
        "venues": [
            {"name": "binance", "symbols": ["BTCUSDT"], "spot_symbols": ["BTCUSDT"]},
            {"name": "bybit", "kind": "bybit", "symbols": ["BTCUSDT"]},
            {"name": "okx", "kind": "ccxt", "exchange": "okx", "symbols": ["BTCUSDT"]},
        ],
        "accounts": [account("a", "binance"), account("b", "bybit"),
                     account("c", "okx") | {"api_password_env": "P"}],
    }
    cfg, secrets = parse_config(data, env)
    daemon = Daemon(cfg, secrets)
    built = [type(daemon.build_venue(v, cfg, secrets)).__name__ for v in cfg.venues]
    sim = sorted(m for m in sys.modules if m == "monitor.sim" or m.startswith("monitor.sim."))
    print(json.dumps({"built": built, "sim": sim, "simulator": daemon.simulator is None}))
    """
)


def test_a_daemon_without_the_simulator_imports_none_of_it() -> None:
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["built"] == ["BinanceUsdmCollector", "BybitCollector", "CcxtProCollector"]
    assert out["simulator"] is True
    assert out["sim"] == []


def test_the_check_would_see_a_simulator_import() -> None:
    """The same script with the simulator imported reports it: the probe is not blind."""
    script = SCRIPT.replace(
        "from monitor.app import Daemon", "from monitor.app import Daemon\nimport monitor.sim.server"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "monitor.sim.server" in json.loads(done.stdout.strip().splitlines()[-1])["sim"]
