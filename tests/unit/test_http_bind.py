"""/metrics and /healthz listen on loopback unless the config says otherwise (read from the kernel)."""

from __future__ import annotations

from pathlib import Path

from prometheus_client import CollectorRegistry

from monitor.config import parse_config
from monitor.http import HttpServer

LISTEN = "0A"


def listeners(port: int) -> list[str]:
    """Local addresses (kernel hex) of the TCP sockets listening on `port`, IPv4 and IPv6."""
    out = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        path = Path(table)
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            fields = line.split()
            addr, hex_port = fields[1].rsplit(":", 1)
            if int(hex_port, 16) == port and fields[3] == LISTEN:
                out.append(addr)
    return out


async def _bound(host: str) -> list[str]:
    server = HttpServer(host=host, port=0, registry=CollectorRegistry(), health=lambda: (True, {}))
    await server.start()
    try:
        return listeners(server.bound_port)
    finally:
        await server.stop()


async def test_default_config_listens_on_loopback_only() -> None:
    """An empty config binds 127.0.0.1 (kernel: 0100007F) and nothing else; 0.0.0.0 must be asked for."""
    cfg, _ = parse_config({})
    assert (cfg.http.host, cfg.simulator.host) == ("127.0.0.1", "127.0.0.1")
    assert await _bound(cfg.http.host) == ["0100007F"]
    explicit, _ = parse_config({"http": {"host": "0.0.0.0", "allow_insecure_bind": True}})
    assert await _bound(explicit.http.host) == ["00000000"], "the check can tell the two apart"
