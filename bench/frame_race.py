"""The frame race: how soon after a wick does perpmon's alert land, beside a bare ccxt.pro bot (issue 21).

One simulator process (`config.toml`'s [simulator], optionally with the generated universe), one
perpmon daemon process pointed at it, and in this process a loopback webhook receiver and a
~30-line ccxt.pro bot (`watch_mark_price` on BTC/USDT:USDT, comparing the mark with the venue's
liquidation price of `degen`'s long, read from the simulator). Each race:

  1. pin BTCUSDT's mark safely away (20 % above degen's liquidation price) and wait until perpmon
     has resolved the alert;
  2. wait a random fraction of a second (so the crossing lands anywhere on perpmon's 1 s grid);
  3. T0, then pin the mark 3 % above the liquidation price: the shipped `LiquidationDistance`
     critical (`for_s = 0`, threshold 5 %) must fire. The simulator emits the frame at once.

Times, all on the machine's monotonic clock (shared by the processes): the daemon's receipt of the
crossing mark (its store hook, patched in the daemon process by this script), the commit of the
alert's row in its outbox (a patched `Outbox.enqueue`, stamped after the commit), the webhook's
receipt here, and the ccxt.pro bot's detection here. Printed per size: before (`on_frame = false`,
the interval_s grid only) and after (frame-driven), in the same run, with perpmon's CPU share over
the races and its ticks by trigger. Sizes: the 1 × 2 book (`make run`'s), and with `--universe`
the simulator's generated 600 symbols × 1,000 positions (20 accounts) at the venue's cadence
(every mark once a second: 600 mark frames/s). No asserts: it prints figures.

    PYTHONPATH=. .venv/bin/python bench/frame_race.py --races 20
    PYTHONPATH=. .venv/bin/python bench/frame_race.py --races 20 --universe 600,1000,20
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
import urllib.request
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

ROOT = Path(__file__).resolve().parent.parent
SYMBOL, UNIFIED = "BTCUSDT", "BTC/USDT:USDT"
SAFE, CROSS = 0.80, 0.97  # mark = LP / this: distance 20 % (resolved), 3 % (critical at 5 %)


def _env() -> dict[str, str]:
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    for line in (ROOT / "deploy" / "simulator.env").read_text().splitlines():
        if "=" in line and not line.lstrip().startswith("#"):
            k, _, v = line.partition("=")
            env[k.strip()] = v.strip()
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


# ------------------------------------------------------------------ child: the simulator
async def serve_sim(n: int, p: int, a: int) -> None:
    import msgspec

    from monitor.clock import LiveClock
    from monitor.config import parse_config
    from monitor.log import configure_logging
    from monitor.sim.admin import AdminServer
    from monitor.sim.control import SimControl
    from monitor.sim.server import Simulator

    configure_logging("warning", "json", [])
    cfg, secrets = parse_config(tomllib.loads((ROOT / "config.toml").read_text()), _env())
    sim_cfg = msgspec.structs.replace(
        cfg.simulator, universe_symbols=n, universe_positions=p, universe_accounts=a, admin_port=0
    )
    sim = Simulator(sim_cfg, secrets.sim_keys, LiveClock())
    admin = AdminServer(SimControl(sim))
    await sim.start()
    await admin.start()
    info = {
        "futures_rest_url": sim.futures_rest_url,
        "futures_ws_url": sim.futures_ws_url,
        "spot_rest_url": sim.spot_rest_url,
        "spot_ws_url": sim.spot_ws_url,
        "admin_url": admin.url,
        "admin_token": admin.token,
        "universe": {k: (s.reveal(), t.reveal()) for k, (s, t) in sim.universe_keys.items()},
    }
    print(json.dumps(info), flush=True)
    await asyncio.Event().wait()


# ------------------------------------------------------------------ child: the daemon, instrumented
def serve_daemon(config: str, udp_port: int) -> int:
    """`perpmon run`, stamping over UDP each BTCUSDT mark stored and each degen alert row committed."""
    from monitor.cli import main
    from monitor.notify.outbox import Outbox
    from monitor.records import MarkPrice
    from monitor.store.state import StateStore

    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    dest = ("127.0.0.1", udp_port)
    put, enqueue = StateStore.put, Outbox.enqueue

    def stamped_put(self: StateStore, record: Any) -> None:
        put(self, record)
        if type(record) is MarkPrice and record.symbol == SYMBOL and record.venue == "binance":
            sock.sendto(f"mark {time.monotonic_ns()} {record.mark}".encode(), dest)

    def stamped_enqueue(self: Outbox, notes: list[Any]) -> int:
        added = enqueue(self, notes)
        t = time.monotonic_ns()
        for n in notes:
            for al in n.alerts:
                lb = al.labels
                if lb.get("alertname") == "LiquidationDistance" and lb.get("account") == "degen":
                    sock.sendto(f"outbox {t} {al.state.value} {al.severity.label}".encode(), dest)
        return added

    StateStore.put = stamped_put  # type: ignore[method-assign]
    Outbox.enqueue = stamped_enqueue  # type: ignore[method-assign,assignment]
    return main(["run", "--config", config])


# ------------------------------------------------------------------ the race, in this process
def _toml(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, list):
        return "[" + ", ".join(_toml(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{json.dumps(k)} = {_toml(x)}" for k, x in v.items()) + "}"
    raise TypeError(type(v).__name__)


def daemon_config(tmp: Path, sim: dict[str, Any], on_frame: bool, universe: bool, http_port: int) -> Path:
    """config.toml, on the external simulator's Binance only, a webhook here, frame trigger on or off."""
    data = tomllib.loads((ROOT / "config.toml").read_text())
    data.pop("simulator", None)
    data["state_dir"] = str(tmp / f"state-{'frame' if on_frame else 'grid'}")
    data["log"] = {"level": "warning", "format": "json"}
    data["http"] = {"host": "127.0.0.1", "port": http_port}
    binance = next(v for v in data["venues"] if v["name"] == "binance")
    binance.update(
        simulator=False,
        rest_url=sim["futures_rest_url"],
        ws_url=sim["futures_ws_url"],
        spot_rest_url=sim["spot_rest_url"],
        spot_ws_url=sim["spot_ws_url"],
        symbols=["*"] if universe else [SYMBOL],
    )
    data["venues"] = [binance]
    data["accounts"] = [a for a in data["accounts"] if a["venue"] == "binance"] + [
        {
            "name": name,
            "venue": "binance",
            "api_key_env": f"U_{name.upper()}_KEY",
            "api_secret_env": f"U_{name.upper()}_SECRET",
        }
        for name in sim["universe"]
    ]
    data["receivers"] = [{"name": "race", "type": "webhook", "url_env": "FRAME_RACE_HOOK", "timeout_s": 5.0}]
    data["evaluation"]["on_frame"] = on_frame
    path = tmp / f"perpmon-{'frame' if on_frame else 'grid'}.toml"
    path.write_text("".join(f"{k} = {_toml(v)}\n" for k, v in data.items()))
    return path


class Stamps(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.marks: list[tuple[int, float]] = []
        self.outbox: list[tuple[int, str, str]] = []

    def datagram_received(self, data: bytes, addr: Any) -> None:
        kind, t, *rest = data.decode().split()
        if kind == "mark":
            self.marks.append((int(t), float(rest[0])))
        else:
            self.outbox.append((int(t), rest[0], rest[1]))


class Hook:
    """The loopback webhook: when each LiquidationDistance notification for degen arrived."""

    def __init__(self) -> None:
        self.got: list[tuple[int, str, str]] = []

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.json()
        t = time.monotonic_ns()
        for al in body["alerts"]:
            lb = al["labels"]
            if lb.get("alertname") == "LiquidationDistance" and lb.get("account") == "degen":
                self.got.append((t, al["status"], lb.get("severity", "")))
        return web.Response()


class Bot:
    """The ~30-line ccxt.pro bot: watch the mark, compare with the venue's liquidation price."""

    def __init__(self, sim: dict[str, Any]) -> None:
        import ccxt.pro

        from monitor.sim.ccxt_urls import point_ccxt_at

        self.ex = ccxt.pro.binanceusdm({"enableRateLimit": False})
        point_ccxt_at(self.ex, sim)
        self.lp = 0.0  # the venue's liquidation price of degen's long (set per race)
        self.hits: list[int] = []
        self.marks = 0

    async def run(self) -> None:
        await self.ex.load_markets()
        armed = True
        while True:
            t = await self.ex.watch_mark_price(UNIFIED)
            self.marks += 1
            mark = float(t.get("markPrice") or t["info"]["p"])
            close = self.lp > 0 and (mark - self.lp) / mark < 0.05
            if close and armed:
                self.hits.append(time.monotonic_ns())
            armed = not close


def pct(xs: list[float], q: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, round(q * (len(s) - 1)))] if s else float("nan")


def cpu_s(pid: int) -> float:
    f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


def admin_session(sim: dict[str, Any]) -> aiohttp.ClientSession:
    """A session that carries the simulator admin API's bearer token (monitor/sim/admin.py)."""
    return aiohttp.ClientSession(headers={"Authorization": f"Bearer {sim['admin_token']}"})


async def _json(s: aiohttp.ClientSession, method: str, url: str, body: Any = None) -> Any:
    async with s.request(method, url, json=body) as r:
        return await r.json()


async def degen_lp(s: aiohttp.ClientSession, admin: str) -> float:
    acct = await _json(s, "GET", f"{admin}/accounts/degen")
    pos = next(p for p in acct["positions"] if p["symbol"] == SYMBOL)
    return float(pos["liquidation_price"])


def scrape(port: int) -> str:
    body: bytes = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=120).read()
    return body.decode()


def metric(body: str, name: str, labels: str = "") -> float:
    m = re.search(rf"^{name}{re.escape(labels)} (\S+)", body, re.M)
    return float(m.group(1)) if m else float("nan")


async def phase(
    args: argparse.Namespace,
    sim: dict[str, Any],
    tmp: Path,
    on_frame: bool,
    hook: Hook,
    hook_url: str,
    bot: Bot,
) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    udp_port = _free_port()
    transport, stamps = await loop.create_datagram_endpoint(Stamps, local_addr=("127.0.0.1", udp_port))
    http_port = _free_port()
    cfg = daemon_config(tmp, sim, on_frame, args.universe != "0,0,0", http_port)
    env = _env() | {"FRAME_RACE_HOOK": hook_url}
    for name, (key, secret) in sim["universe"].items():
        env[f"U_{name.upper()}_KEY"], env[f"U_{name.upper()}_SECRET"] = key, secret
    log = (tmp / f"daemon-{'frame' if on_frame else 'grid'}.log").open("w")
    proc = subprocess.Popen(  # noqa: ASYNC220 - started before the race, not during it
        [sys.executable, __file__, "--serve-daemon", str(cfg), "--udp", str(udp_port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )
    out: dict[str, Any] = {"perpmon_recv": [], "to_outbox": [], "recv_to_outbox": [], "to_webhook": []}
    out |= {"recv_to_webhook": [], "outbox_to_webhook": [], "bot": [], "missed": 0}
    try:
        async with admin_session(sim) as s:
            admin = sim["admin_url"]
            # ready: the daemon has a liquidation distance for degen (its account and the mark are in)
            for _ in range(600):
                await asyncio.sleep(2)
                if proc.poll() is not None:
                    raise RuntimeError(f"the daemon exited ({proc.returncode}); see {log.name}")
                try:
                    body = await asyncio.to_thread(scrape, http_port)
                except OSError:
                    continue  # not listening yet
                if re.search(
                    r'^perpmon_liquidation_distance_ratio\{[^}]*account="degen"[^}]*\} [0-9.]', body, re.M
                ):
                    break
            await asyncio.sleep(args.settle_s)
            c0, w0, b0 = cpu_s(proc.pid), time.monotonic(), await asyncio.to_thread(scrape, http_port)
            for _race in range(args.races):
                lp = await degen_lp(s, admin)
                await _json(s, "POST", f"{admin}/price", {"symbol": SYMBOL, "price": lp / SAFE})
                for _ in range(round(args.wait_s / 0.05)):  # until perpmon resolved the last race
                    await asyncio.sleep(0.05)
                    if not hook.got or hook.got[-1][1] == "resolved":
                        break
                await asyncio.sleep(0.3 + random.random())  # anywhere on the 1 s grid
                lp = await degen_lp(s, admin)
                bot.lp = lp
                n_marks, n_out, n_hook, n_bot = (
                    len(stamps.marks),
                    len(stamps.outbox),
                    len(hook.got),
                    len(bot.hits),
                )
                t0 = time.monotonic_ns()
                await _json(s, "POST", f"{admin}/price", {"symbol": SYMBOL, "price": lp / CROSS})
                for _ in range(round(args.wait_s / 0.025)):
                    await asyncio.sleep(0.025)
                    if (
                        any(h[1:] == ("firing", "critical") for h in hook.got[n_hook:])
                        and len(bot.hits) > n_bot
                    ):
                        break
                crossing = [t for t, m in stamps.marks[n_marks:] if (m - lp) / m < 0.05]
                rows = [t for t, st, sev in stamps.outbox[n_out:] if st == "firing" and sev == "critical"]
                fired = [h[0] for h in hook.got[n_hook:] if h[1] == "firing" and h[2] == "critical"]
                if not (crossing and rows and fired and len(bot.hits) > n_bot):
                    out["missed"] += 1
                    continue
                ms = 1e-6
                out["perpmon_recv"].append((crossing[0] - t0) * ms)
                out["to_outbox"].append((rows[0] - t0) * ms)
                out["recv_to_outbox"].append((rows[0] - crossing[0]) * ms)
                out["to_webhook"].append((fired[0] - t0) * ms)
                out["recv_to_webhook"].append((fired[0] - crossing[0]) * ms)
                out["outbox_to_webhook"].append((fired[0] - rows[0]) * ms)
                out["bot"].append((bot.hits[n_bot] - t0) * ms)
            c1, w1 = cpu_s(proc.pid), time.monotonic()
            b1 = await asyncio.to_thread(scrape, http_port)
            await _json(
                s, "POST", f"{admin}/price", {"symbol": SYMBOL, "price": (await degen_lp(s, admin)) / SAFE}
            )
    finally:
        proc.terminate()
        await asyncio.to_thread(proc.wait, 60)
        transport.close()
        log.close()
    out["cpu"] = 100 * (c1 - c0) / (w1 - w0)
    for trig in ("periodic", "frame"):
        lab = f'{{trigger="{trig}"}}'
        out[trig] = metric(b1, "perpmon_evaluation_ticks_total", lab) - metric(
            b0, "perpmon_evaluation_ticks_total", lab
        )
    for kind in ("full", "frame"):  # NaN from a daemon that predates tick kinds
        lab = f'{{kind="{kind}"}}'
        out[f"kind_{kind}"] = metric(b1, "perpmon_evaluation_tick_kinds_total", lab) - metric(
            b0, "perpmon_evaluation_tick_kinds_total", lab
        )
    out["tick_ms"] = 1000 * metric(b1, "perpmon_evaluation_duration_seconds")
    for key, family in (
        ("stages", "perpmon_evaluation_stage_duration_seconds"),
        ("frame_stages", "perpmon_evaluation_frame_stage_duration_seconds"),
    ):
        stages = re.findall(rf'^{family}\{{stage="([^"]+)"\}} (\S+)', b1, re.M)
        out[key] = ", ".join(f"{k} {1000 * float(v):.1f}" for k, v in stages)
    out["seconds"] = w1 - w0
    return out


def report(label: str, r: dict[str, Any]) -> None:
    n = len(r["to_webhook"])
    print(
        f"  {label}: {n} races ({r['missed']} missed), perpmon CPU {r['cpu']:.1f} % of one core over "
        f"{r['seconds']:.0f} s, ticks periodic {r['periodic']:.0f} / frame {r['frame']:.0f} "
        f"(run as full {r['kind_full']:.0f} / frame tick {r['kind_frame']:.0f}), "
        f"last full tick {r['tick_ms']:.1f} ms"
    )
    print(f"    its stages (ms): {r['stages']}")
    if r["frame_stages"]:
        print(f"    last frame tick's stages (ms): {r['frame_stages']}")
    rows = [
        ("perpmon received the crossing mark (from T0)", "perpmon_recv"),
        ("frame received -> alert row committed in the outbox", "recv_to_outbox"),
        ("frame received -> webhook receipt", "recv_to_webhook"),
        ("outbox commit -> webhook receipt (delivery)", "outbox_to_webhook"),
        ("T0 -> outbox", "to_outbox"),
        ("T0 -> webhook", "to_webhook"),
        ("T0 -> ccxt.pro watch_mark_price bot detects", "bot"),
    ]
    for text, key in rows:
        xs = r[key]
        if xs:
            print(
                f"    {text:<52} p50 {statistics.median(xs):8.1f}  p99 {pct(xs, 0.99):8.1f}  "
                f"min {min(xs):7.1f}  max {max(xs):8.1f} ms"
            )
    if r["to_webhook"] and r["bot"]:
        ratio = statistics.median(r["to_webhook"]) / statistics.median(r["bot"])
        print(f"    perpmon -> webhook median / bot median: {ratio:.1f}x")


async def race(args: argparse.Namespace) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="perpmon-frame-race-"))
    sim_proc = subprocess.Popen(  # noqa: ASYNC220 - started before anything runs on the loop
        [sys.executable, __file__, "--serve-sim", args.universe],
        stdout=subprocess.PIPE,
        stderr=(tmp / "sim.log").open("w"),
        env=_env(),
    )
    try:  # the simulator goes with the race, also when the race fails before it starts
        await _race_on(args, sim_proc, tmp)
    finally:
        sim_proc.terminate()
        sim_proc.wait(30)


async def _race_on(args: argparse.Namespace, sim_proc: subprocess.Popen[bytes], tmp: Path) -> None:
    n, p, a = (int(x) for x in args.universe.split(","))
    assert sim_proc.stdout is not None
    sim = json.loads(await asyncio.to_thread(sim_proc.stdout.readline))
    sim_c0, sim_w0 = cpu_s(sim_proc.pid), time.monotonic()
    hook = Hook()
    app = web.Application()
    app.router.add_post("/hook", hook.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    hook_url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}/hook"  # type: ignore[union-attr]
    async with admin_session(sim) as s:  # pinned at once: the replay's crash would liquidate degen
        await _json(
            s,
            "POST",
            f"{sim['admin_url']}/price",
            {"symbol": SYMBOL, "price": await degen_lp(s, sim["admin_url"]) / SAFE},
        )
    bot = Bot(sim)
    bot_task = asyncio.create_task(bot.run())
    size = (
        f"{n} symbols x {p} positions, {a} accounts (+ the 4 real contracts)"
        if n
        else "1 symbol x 2 positions"
    )
    print(f"frame race on {size}: {args.races} races per phase; logs in {tmp}", flush=True)
    try:
        results = {}
        for on_frame in (False, True):
            results[on_frame] = await phase(args, sim, tmp, on_frame, hook, hook_url, bot)
        report("before: on_frame = false (the 1 s grid only)", results[False])
        report("after:  on_frame = true (frame-driven)", results[True])
        print(
            f"  simulator CPU {100 * (cpu_s(sim_proc.pid) - sim_c0) / (time.monotonic() - sim_w0):.0f} %"
            f" of one core; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (a shared box:"
            " these figures were taken under load)"
        )
    finally:
        bot_task.cancel()
        await asyncio.gather(bot_task, return_exceptions=True)
        await bot.ex.close()
        await runner.cleanup()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    ap.add_argument("--races", type=int, default=20)
    ap.add_argument("--universe", default="0,0,0", metavar="N,P,A", help="e.g. 600,1000,20; default: 1 x 2")
    ap.add_argument("--settle-s", type=float, default=5.0, help="after the daemon is ready, before racing")
    ap.add_argument("--wait-s", type=float, default=10.0, help="for an alert; a race past it is missed")
    ap.add_argument("--serve-sim", metavar="N,P,A", help=argparse.SUPPRESS)
    ap.add_argument("--serve-daemon", metavar="CONFIG", help=argparse.SUPPRESS)
    ap.add_argument("--udp", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve_sim:
        n, p, a = (int(x) for x in args.serve_sim.split(","))
        asyncio.run(serve_sim(n, p, a))
    elif args.serve_daemon:
        sys.exit(serve_daemon(args.serve_daemon, args.udp))
    else:
        asyncio.run(race(args))


if __name__ == "__main__":
    main()
