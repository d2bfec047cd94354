"""Throwaway instances of real servers on free loopback ports, for integration tests.

Each test gets its own process and port, so nothing depends on a service someone left running.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import pytest
from aiohttp import web

__all__ = ["alertmanager", "free_port", "http_receiver", "mosquitto", "prom_query", "prometheus", "wait_port"]


@asynccontextmanager
async def http_receiver(
    route: str, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> AsyncIterator[str]:
    """A local aiohttp server: POST `route` goes to `handler`; yields its loopback base URL."""
    app = web.Application()
    app.router.add_post(route, handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]
    finally:
        await runner.cleanup()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, limit_s: float = 10.0) -> None:
    end = time.monotonic() + limit_s
    while time.monotonic() < end:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port}")


def require(binary: str, package: str) -> str:
    path = shutil.which(binary) or (f"/usr/sbin/{binary}" if Path(f"/usr/sbin/{binary}").exists() else None)
    if path is None:
        pytest.fail(f"{binary} is missing: `make test` installs Debian's {package} package")
    return path


@contextmanager
def mosquitto(
    tmp: Path, port: int | None = None, *, allow_anonymous: bool = True, listener: str = ""
) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    """A Mosquitto broker on 127.0.0.1:<port>, anonymous (or refusing every login), no persistence.

    `listener`: more lines for the listener (e.g. `cafile`, `certfile`, `require_certificate` for TLS).
    """
    binary = require("mosquitto", "mosquitto")
    port = port or free_port()
    conf = tmp / f"mosquitto-{port}.conf"
    anonymous = "true" if allow_anonymous else "false"
    conf.write_text(f"listener {port} 127.0.0.1\n{listener}allow_anonymous {anonymous}\npersistence false\n")
    proc = subprocess.Popen([binary, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(port)
        yield port, proc
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()


@contextmanager
def prometheus(tmp: Path, config: str, port: int | None = None) -> Iterator[str]:
    """A Prometheus server on 127.0.0.1:<port> running `config` (YAML text); yields its base URL.

    Rule files named in the config resolve relative to `tmp`, where the config is written.
    """
    binary = require("prometheus", "prometheus")
    port = port or free_port()
    conf = tmp / f"prometheus-{port}.yml"
    conf.write_text(config)
    log = (tmp / f"prometheus-{port}.log").open("wb")
    proc = subprocess.Popen(
        [
            binary,
            f"--config.file={conf}",
            f"--storage.tsdb.path={tmp / f'prometheus-{port}-data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--web.enable-lifecycle",
            "--log.level=warn",
        ],
        stdout=log,
        stderr=log,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        end = time.monotonic() + 15
        while True:
            try:
                with urllib.request.urlopen(f"{url}/-/ready", timeout=1) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > end:
                detail = (tmp / f"prometheus-{port}.log").read_text()
                raise RuntimeError(f"prometheus did not start: {detail}")
            time.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def prom_query(url: str, expr: str) -> list[dict[str, object]]:
    """Run an instant query through Prometheus' HTTP API; return the result vector (raise on error)."""
    q = urllib.parse.urlencode({"query": expr})
    with urllib.request.urlopen(f"{url}/api/v1/query?{q}", timeout=5) as r:
        body = json.load(r)
    if body.get("status") != "success":
        raise AssertionError(f"query failed: {expr}: {body}")
    result = body["data"]["result"]
    return result if isinstance(result, list) else [result]


@contextmanager
def alertmanager(tmp: Path, webhook_url: str | None = None, port: int | None = None) -> Iterator[str]:
    """Debian's prometheus-alertmanager on 127.0.0.1:<port>, no clustering, state in `tmp`; yields its URL.

    With `webhook_url` every alert group is posted there (resolved ones too) about half a second
    after it changes.
    """
    binary = require("prometheus-alertmanager", "prometheus-alertmanager")
    port = port or free_port()
    receiver = '  - name: "hook"\n'
    if webhook_url is not None:
        receiver += f'    webhook_configs:\n      - url: "{webhook_url}"\n        send_resolved: true\n'
    conf = tmp / f"alertmanager-{port}.yml"
    conf.write_text(
        'route:\n  receiver: "hook"\n  group_by: ["alertname"]\n'
        "  group_wait: 100ms\n  group_interval: 500ms\n  repeat_interval: 1h\n"
        f"receivers:\n{receiver}"
    )
    log = (tmp / f"alertmanager-{port}.log").open("wb")
    proc = subprocess.Popen(
        [
            binary,
            f"--config.file={conf}",
            f"--storage.path={tmp / f'alertmanager-{port}-data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
        ],
        stdout=log,
        stderr=log,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        end = time.monotonic() + 15
        while True:
            try:
                with urllib.request.urlopen(f"{url}/-/ready", timeout=1) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > end:
                detail = (tmp / f"alertmanager-{port}.log").read_text()
                raise RuntimeError(f"alertmanager did not start: {detail}")
            time.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
