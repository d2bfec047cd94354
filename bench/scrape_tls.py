"""What TLS and basic auth cost a scrape: plain HTTP vs TLS vs TLS + bcrypt basic auth, same run.

Run: `.venv/bin/python bench/scrape_tls.py`. Prints medians (ms) of N scrapes of a small registry
from one keep-alive client (as Prometheus scrapes), and the first authenticated scrape on its own
(a bcrypt check at cost 10, before the login is cached) beside the cached ones. No asserts.
"""

from __future__ import annotations

import asyncio
import ssl
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
from prometheus_client import CollectorRegistry, Gauge

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from monitor.devtls import write_demo_tls
from monitor.http import HttpServer

N = 100


async def scrapes(web: Path | None, ctx: ssl.SSLContext | None, headers: dict[str, str]) -> list[float]:
    registry = CollectorRegistry()
    g = Gauge("bench_value", "x", ["i"], registry=registry)
    for i in range(200):
        g.labels(str(i)).set(i)
    server = HttpServer(
        host="127.0.0.1",
        port=0,
        registry=registry,
        health=lambda: (True, {}),
        web_config_file=None if web is None else str(web),
        watch_s=0,
    )
    await server.start()
    url = f"{server.scheme}://127.0.0.1:{server.bound_port}/metrics"
    out = []
    try:
        async with aiohttp.ClientSession(headers=headers) as http:
            for _ in range(N):
                t0 = time.perf_counter()
                async with http.get(url, ssl=ctx if ctx is not None else False) as r:
                    assert r.status == 200
                    await r.read()
                out.append((time.perf_counter() - t0) * 1e3)
    finally:
        await server.stop()
    return out


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        write_demo_tls(d / "auth", ["127.0.0.1"])
        password = (d / "auth" / "scrape-password").read_text()
        (d / "tls").mkdir()
        pair = f"  cert_file: {d / 'auth' / 'tls.crt'}\n  key_file: {d / 'auth' / 'tls.key'}\n"
        (d / "tls" / "web.yml").write_text(f"tls_server_config:\n{pair}")
        ctx = ssl.create_default_context(cafile=str(d / "auth" / "ca.crt"))
        login = {"Authorization": aiohttp.encode_basic_auth("prometheus", password)}
        plain, tls, auth = [], [], []
        for _ in range(3):  # interleaved rounds: the shared machine's load hits all three alike
            plain += await scrapes(None, None, {})
            tls += await scrapes(d / "tls" / "web.yml", ctx, {})
            auth += await scrapes(d / "auth" / "web-config.yml", ctx, login)
    print(f"{N} scrapes each, one keep-alive connection, median ms (measured under shared load):")
    print(f"  plain HTTP                 {statistics.median(plain):7.2f}")
    print(f"  TLS                        {statistics.median(tls):7.2f}")
    cached = [t for i, t in enumerate(auth) if i % N]
    print(f"  TLS + basic auth (cached)  {statistics.median(cached):7.2f}")
    print(f"  TLS + basic auth, first    {auth[0]:7.2f}   (handshake + one bcrypt check at cost 10)")
    print(f"  TLS, first                 {tls[0]:7.2f}   (handshake only)")


if __name__ == "__main__":
    asyncio.run(main())
