"""`perpmon sim`: the venue simulator on its own, for trying ccxt or perpmon against it by hand.

It starts the Binance futures and spot hosts and the loopback admin API, prints where they are,
the admin API's token and the test accounts' keys (these are the simulator's own throwaway
credentials, printed on purpose so a user can sign requests), then runs until SIGINT or SIGTERM.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from typing import Any

from monitor.clock import LiveClock
from monitor.log import configure_logging
from monitor.sim.admin import AdminServer
from monitor.sim.control import SimControl
from monitor.sim.hyperliquid.testing import hyperliquid_config
from monitor.sim.scenarios import SCENARIOS
from monitor.sim.server import Simulator
from monitor.sim.testing import BYBIT_TEST_KEYS, TEST_KEYS

__all__ = ["describe", "run_standalone"]


def describe(sim: Simulator, admin: AdminServer, scenario: str) -> dict[str, Any]:
    """The one object `--json` prints: addresses (keys as `point_ccxt_at` takes them) and test keys."""
    return {
        "scenario": scenario,
        "speed": sim.cfg.speed,
        "futures_rest_url": sim.futures_rest_url,
        "futures_ws_url": sim.futures_ws_url,
        "spot_rest_url": sim.spot_rest_url,
        "spot_ws_url": sim.spot_ws_url,
        "bybit_rest_url": sim.bybit_rest_url,
        "bybit_ws_url": sim.bybit_ws_url,
        "hyperliquid_url": sim.hyperliquid_url,  # POST /info; its socket: ws://…/ws
        # what ccxt.pro's urls['api']['ws'] entries become (monitor.sim.ccxt_urls.point_ccxt_at does it)
        "ccxt_ws": {"linear": f"{sim.futures_ws_url}/ws", "spot": f"{sim.spot_ws_url}/stream/ws"},
        "admin_url": admin.url,
        "admin_token": admin.token,  # every admin request: Authorization: Bearer <token>
        "accounts": [
            {
                "name": name,
                "api_key": TEST_KEYS[name][0].reveal(),
                "api_secret": TEST_KEYS[name][1].reveal(),
                "positions": [
                    {"symbol": p.symbol, "side": p.side, "qty": p.qty, "margin_mode": p.margin_mode}
                    for p in acct.positions
                ],
            }
            for name, acct in sim.engine.accounts.items()
            if name in TEST_KEYS
        ]
        + [
            {
                "name": name,
                "venue": "bybit",
                "api_key": BYBIT_TEST_KEYS[name][0].reveal(),
                "api_secret": BYBIT_TEST_KEYS[name][1].reveal(),
                "positions": [
                    {"symbol": p.symbol, "side": p.side, "qty": p.qty, "margin_mode": p.margin_mode}
                    for p in acct.positions
                ],
            }
            for name, acct in sim.bybit.engine.accounts.items()
            if name in BYBIT_TEST_KEYS
        ]
        + [  # Hyperliquid: read by address, no key (monitor/sim/hyperliquid/testing.py)
            {"name": acct.name, "venue": "hyperliquid", "address": address}
            for address, acct in sim.hyperliquid.engine.accounts.items()
        ]
        + [  # the generated accounts (`--universe`): derived keys, simulator-only like the others
            {
                "name": name,
                "api_key": key.reveal(),
                "api_secret": secret.reveal(),
                "positions": len(sim.engine.accounts[name].positions),
            }
            for name, (key, secret) in sim.universe_keys.items()
        ],
        "symbols": len(sim.market.specs),
    }


def _text(info: dict[str, Any]) -> str:
    lines = [
        f"perpmon sim: scenario {info['scenario']} at speed {info['speed']:g}x",
        f"  futures REST  {info['futures_rest_url']}   (fapi, sapi)",
        f"  futures WS    {info['futures_ws_url']}   (ccxt ws linear: {info['ccxt_ws']['linear']})",
        f"  spot REST     {info['spot_rest_url']}   (api/v3)",
        f"  spot WS       {info['spot_ws_url']}   (ccxt ws spot: {info['ccxt_ws']['spot']})",
        f"  bybit v5      {info['bybit_rest_url']}   (REST; WS {info['bybit_ws_url']}/v5/public/linear …)",
        f"  admin         {info['admin_url']}   (loopback; GET /state, POST /shock, /faults/<name> ...)",
        f"  admin token   {info['admin_token']}   (header Authorization: Bearer <token>; new every start)",
        "  test accounts (simulator-only keys):",
    ]
    for a in info["accounts"]:
        venue = f" ({a['venue']})" if "venue" in a else ""
        if "address" in a:
            lines.append(f"    {a['name']:<6} address={a['address']}{venue}")
            continue
        lines.append(f"    {a['name']:<6} apiKey={a['api_key']}  secret={a['api_secret']}{venue}")
    lines.append(f"  hyperliquid   {info['hyperliquid_url']}   (POST /info, WS /ws; accounts by address)")
    lines.append("Ctrl-C stops it.")
    return "\n".join(lines)


async def run_standalone(
    scenario: str,
    speed: float,
    *,
    as_json: bool = False,
    seed: int = 7,
    futures_port: int = 0,
    spot_port: int = 0,
    admin_port: int = 0,
    tick_s: float = 1.0,
    universe: tuple[int, int, int] = (0, 0, 0),
    replay: str | None = None,
) -> int:
    chosen = SCENARIOS[scenario]
    n, p, a = universe
    cfg = hyperliquid_config(
        **{
            **chosen.overrides,
            **({"replay": replay} if replay else {}),
            "tick_s": tick_s,
            "speed": speed,
            "seed": seed,
            "futures_port": futures_port,
            "spot_port": spot_port,
            "admin_port": admin_port,
            "universe_symbols": n,
            "universe_positions": p,
            "universe_accounts": a,
        }
    )
    configure_logging("warning")
    sim = Simulator(cfg, TEST_KEYS | BYBIT_TEST_KEYS, LiveClock())
    control = SimControl(sim)
    for shock in chosen.shocks:
        sim.market.apply_shock(shock)
        control.shocks.append(shock)
    admin = AdminServer(control, port=cfg.admin_port)
    try:
        await sim.start()
        await admin.start()
    except OSError as exc:  # a port in use, most likely
        await admin.stop()
        await sim.stop()
        sys.stderr.write(f"perpmon: sim cannot listen: {exc}\n")
        return 1
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        info = describe(sim, admin, scenario)
        out = json.dumps(info, separators=(",", ":")) if as_json else _text(info)
        sys.stdout.write(out + "\n")
        sys.stdout.flush()
        await stop.wait()
    finally:
        await admin.stop()
        await sim.stop()
    return 0
