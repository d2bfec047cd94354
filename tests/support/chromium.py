"""A real headless Chromium driven over the DevTools protocol, for tests that look at a page.

`chromium --screenshot` and `--dump-dom` see the page once, at load; the status page's numbers
come from a script that refreshes them, so the tests need a browser that stays open: this one
navigates, emulates a phone's or a desktop's viewport, evaluates JavaScript and takes full-page
screenshots. Debian's `chromium` package (Makefile `system-deps`).
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import subprocess
import urllib.request
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp

from tests.support.servers import free_port, require

__all__ = ["Browser", "chromium"]


class Browser:
    """One page of a running Chromium; every call is one DevTools command."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self._ws = ws
        self._ids = itertools.count(1)

    async def send(self, method: str, **params: Any) -> dict[str, Any]:
        msg_id = next(self._ids)
        await self._ws.send_str(json.dumps({"id": msg_id, "method": method, "params": params}))
        async for msg in self._ws:
            data = json.loads(msg.data)
            if data.get("id") == msg_id:
                if "error" in data:
                    raise RuntimeError(f"{method}: {data['error']}")
                result: dict[str, Any] = data["result"]
                return result
        raise RuntimeError("the browser closed the DevTools connection")

    async def evaluate(self, expression: str) -> Any:
        r = await self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in r:
            raise RuntimeError(f"{expression}: {r['exceptionDetails']}")
        return r["result"].get("value")

    async def viewport(self, width: int, height: int, *, mobile: bool, scale: float = 1.0) -> None:
        await self.send(
            "Emulation.setDeviceMetricsOverride",
            width=width,
            height=height,
            deviceScaleFactor=scale,
            mobile=mobile,
        )

    async def open(self, url: str, limit_s: float = 30.0) -> None:
        await self.send("Page.navigate", url=url)
        for _ in range(int(limit_s / 0.1)):
            if await self.evaluate("document.readyState") == "complete":
                return
            await asyncio.sleep(0.1)
        raise TimeoutError(f"{url} did not finish loading")

    async def open_with_login(self, url: str, user: str, password: str, limit_s: float = 30.0) -> None:
        """Navigate to `url` answering its basic-auth challenge as a person does in the login dialog.

        DevTools' Fetch domain holds every request of the load and answers each `authRequired` with
        the credentials; then it lets go, so the page's later requests (its live refresh) run as the
        browser sends them after a login: with the credentials it cached for that origin, or without.
        """
        ids: dict[int, str] = {}

        async def command(method: str, **params: Any) -> None:
            msg_id = next(self._ids)
            ids[msg_id] = method
            await self._ws.send_str(json.dumps({"id": msg_id, "method": method, "params": params}))

        await self.send("Fetch.enable", handleAuthRequests=True, patterns=[{"urlPattern": "*"}])
        await command("Page.navigate", url=url)
        loaded = False
        async with asyncio.timeout(limit_s):
            async for msg in self._ws:
                data = json.loads(msg.data)
                method, params = data.get("method"), data.get("params", {})
                if method == "Fetch.requestPaused":
                    await command("Fetch.continueRequest", requestId=params["requestId"])
                elif method == "Fetch.authRequired":
                    answer = {"response": "ProvideCredentials", "username": user, "password": password}
                    await command("Fetch.continueWithAuth", requestId=params["requestId"],
                                  authChallengeResponse=answer)  # fmt: skip
                elif method == "Page.loadEventFired":
                    loaded = True
                elif "error" in data and data.get("id") in ids:
                    raise RuntimeError(f"{ids[data['id']]}: {data['error']}")
                if loaded:
                    break
        await self.send("Fetch.disable")

    async def screenshot(self, path: Path) -> None:
        """The whole page, not just the viewport (a phone's page is long)."""
        m = await self.send("Page.getLayoutMetrics")
        size = m["cssContentSize"]
        clip = {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}
        shot = await self.send("Page.captureScreenshot", format="png", captureBeyondViewport=True, clip=clip)
        await asyncio.to_thread(path.write_bytes, base64.b64decode(shot["data"]))


def _page_ws(port: int, limit_s: float = 30.0) -> str:
    """The DevTools WebSocket of the browser's first page, once it listens."""
    import time

    end = time.monotonic() + limit_s
    while time.monotonic() < end:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=2) as r:
                pages = [t for t in json.loads(r.read()) if t.get("type") == "page"]
            if pages:
                return str(pages[0]["webSocketDebuggerUrl"])
        except OSError:
            pass
        time.sleep(0.1)
    raise TimeoutError("chromium's DevTools endpoint did not come up")


@asynccontextmanager
async def chromium(tmp: Path, extra: tuple[str, ...] = ()) -> AsyncIterator[Browser]:
    """A headless Chromium with its own profile in `tmp`, closed on exit; `extra`: more switches."""
    binary = require("chromium", "chromium")
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        *[
            binary,
            "--headless",
            "--no-sandbox",  # tests may run as root (containers, CI)
            "--disable-gpu",
            "--hide-scrollbars",
            "--no-first-run",
            "--disable-extensions",
            "--disable-background-networking",
            f"--remote-debugging-port={port}",
            f"--user-data-dir={tmp / 'chromium-profile'}",
            *extra,
            "about:blank",
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        ws_url = await asyncio.to_thread(_page_ws, port)
        async with aiohttp.ClientSession() as session, session.ws_connect(ws_url, max_msg_size=0) as ws:
            browser = Browser(ws)
            await browser.send("Page.enable")
            yield browser
    finally:
        proc.terminate()
        try:
            await asyncio.wait_for(proc.wait(), 10)
        except TimeoutError:
            proc.kill()
            await proc.wait()
