"""A headless Chromium driven over the DevTools protocol, for testing the HTML audit report.

The protocol runs over a pipe (``--remote-debugging-pipe``: JSON messages separated by NUL bytes on
file descriptors 3 and 4), so no port is opened and no websocket library is needed. One
``PageRun`` records everything a page did while loading: every network request it issued, console
messages, uncaught exceptions and browser log entries (CSP violations, failed loads), plus a
screenshot and a print-to-PDF.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import queue
import re
import shutil
import struct
import subprocess
import tempfile
import threading
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "chrome")


def find_chromium() -> str | None:
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


@dataclass
class PageRun:
    requests: list[str] = field(default_factory=list)
    console: list[tuple[str, str]] = field(default_factory=list)  # (level, text)
    exceptions: list[str] = field(default_factory=list)
    log: list[tuple[str, str]] = field(default_factory=list)  # (level, text)
    screenshot: bytes = b""
    pdf: bytes = b""
    evaluated: dict[str, Any] = field(default_factory=dict)

    @property
    def errors(self) -> list[str]:
        out = [f"console.{lvl}: {text}" for lvl, text in self.console if lvl in {"error", "assert"}]
        out += [f"exception: {e}" for e in self.exceptions]
        out += [f"log.{lvl}: {text}" for lvl, text in self.log if lvl == "error"]
        return out


class Chromium:
    """One browser process; ``open_page`` loads a file in a fresh tab and records what happened."""

    def __init__(self, binary: str) -> None:
        self.profile = tempfile.mkdtemp(prefix="sovscan-chromium-")
        to_child_r, self._to_child = os.pipe()
        self._from_child, from_child_w = os.pipe()

        def wire_fds() -> None:  # runs in the child: the protocol expects fds 3 (in) and 4 (out)
            # Park both ends above 3/4 first so that neither dup2 clobbers the other.
            os.dup2(to_child_r, 200)
            os.dup2(from_child_w, 201)
            os.dup2(200, 3)
            os.dup2(201, 4)

        self.proc = subprocess.Popen(
            [
                binary,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-extensions",
                "--disable-default-apps",
                "--no-first-run",
                "--no-default-browser-check",
                "--mute-audio",
                "--hide-scrollbars",
                f"--user-data-dir={self.profile}",
                "--remote-debugging-pipe",
                "about:blank",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=wire_fds,  # noqa: PLW1509 - no threads started yet
            # close_fds would run after preexec_fn and close 3 and 4 again.
            close_fds=False,
        )
        os.close(to_child_r)
        os.close(from_child_w)
        self._next_id = 0
        self._replies: dict[int, dict[str, Any]] = {}
        self._events: queue.Queue[dict[str, Any]] = queue.Queue()
        self._cond = threading.Condition()
        self._reader = threading.Thread(target=self._read_loop, daemon=True)
        self._reader.start()

    # -- protocol ---------------------------------------------------------------------------------
    def _read_loop(self) -> None:
        buf = b""
        while True:
            try:
                chunk = os.read(self._from_child, 1 << 20)
            except OSError:
                break
            if not chunk:
                break
            buf += chunk
            while b"\0" in buf:
                raw, buf = buf.split(b"\0", 1)
                message = json.loads(raw)
                if "id" in message:
                    with self._cond:
                        self._replies[message["id"]] = message
                        self._cond.notify_all()
                else:
                    self._events.put(message)
        with self._cond:
            self._cond.notify_all()

    def send(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        session: str | None = None,
        timeout: float = 60,
    ) -> dict[str, Any]:
        self._next_id += 1
        mid = self._next_id
        message: dict[str, Any] = {"id": mid, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to_child, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        with self._cond:
            while mid not in self._replies:
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None:
                    raise TimeoutError(f"no reply to {method}")
                self._cond.wait(left)
            reply = self._replies.pop(mid)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return dict(reply.get("result", {}))

    # -- pages ------------------------------------------------------------------------------------
    def open_page(
        self,
        path: Path,
        width: int = 1280,
        height: int = 900,
        settle: float = 0.5,
        expressions: dict[str, str] | None = None,
        full_page: bool = False,
    ) -> PageRun:
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        while not self._events.empty():  # drop events from before this page
            self._events.get_nowait()
        for domain in ("Page", "Network", "Runtime", "Log"):
            self.send(f"{domain}.enable", session=session)
        self.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
            session=session,
        )
        run = PageRun()
        self.send("Page.navigate", {"url": path.resolve().as_uri()}, session=session)
        loaded_at: float | None = None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if loaded_at is not None and time.monotonic() - loaded_at >= settle:
                break
            try:
                event = self._events.get(timeout=0.1)
            except queue.Empty:
                continue
            if event.get("sessionId") != session:
                continue
            self._record(event, run)
            if event["method"] == "Page.loadEventFired":
                loaded_at = time.monotonic()
        else:
            raise TimeoutError(f"{path} did not finish loading")
        for name, expression in (expressions or {}).items():
            value = self.send(
                "Runtime.evaluate", {"expression": expression, "returnByValue": True}, session=session
            )
            run.evaluated[name] = value.get("result", {}).get("value")
        shot_params: dict[str, Any] = {"format": "png"}
        if full_page:
            size = self.send("Page.getLayoutMetrics", session=session)["cssContentSize"]
            shot_params["captureBeyondViewport"] = True
            shot_params["clip"] = {"x": 0, "y": 0, "width": width, "height": size["height"], "scale": 1}
        shot = self.send("Page.captureScreenshot", shot_params, session=session)
        run.screenshot = base64.b64decode(shot["data"])
        pdf = self.send(
            "Page.printToPDF", {"printBackground": True, "preferCSSPageSize": True}, session=session
        )
        run.pdf = base64.b64decode(pdf["data"])
        while not self._events.empty():  # anything fired while capturing
            event = self._events.get_nowait()
            if event.get("sessionId") == session:
                self._record(event, run)
        self.send("Target.closeTarget", {"targetId": target})
        return run

    @staticmethod
    def _record(event: dict[str, Any], run: PageRun) -> None:
        method, params = event["method"], event.get("params", {})
        if method == "Network.requestWillBeSent":
            run.requests.append(params["request"]["url"])
        elif method == "Runtime.consoleAPICalled":
            text = " ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", []))
            run.console.append((params.get("type", ""), text))
        elif method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            run.exceptions.append(str(details.get("exception", {}).get("description") or details.get("text")))
        elif method == "Log.entryAdded":
            entry = params.get("entry", {})
            run.log.append((entry.get("level", ""), f"{entry.get('source')}: {entry.get('text')}"))

    def close(self) -> None:
        with contextlib.suppress(TimeoutError, RuntimeError, OSError):
            self.send("Browser.close", timeout=5)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for fd in (self._to_child, self._from_child):
            with contextlib.suppress(OSError):
                os.close(fd)
        shutil.rmtree(self.profile, ignore_errors=True)


# -- PNG and PDF inspection (stdlib only) --------------------------------------------------------
def png_pixels(data: bytes) -> tuple[int, int, list[bytes]]:
    """Decode an 8-bit RGB/RGBA PNG to (width, height, rows of raw pixel bytes)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat = 8, b""
    width = height = depth = colour = 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", body[:10])
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            break
        pos += 12 + length
    assert depth == 8 and colour in (2, 6), f"unsupported PNG (depth {depth}, colour type {colour})"
    bpp = 4 if colour == 6 else 3
    raw = zlib.decompress(idat)
    stride = width * bpp
    rows: list[bytes] = []
    prev = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind = raw[start]
        line = bytearray(raw[start + 1 : start + 1 + stride])
        if kind == 1:
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 0xFF
        elif kind == 2:
            line = bytearray((a + b) & 0xFF for a, b in zip(line, prev, strict=True))
        elif kind == 3:
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + ((left + prev[i]) >> 1)) & 0xFF
        elif kind == 4:
            for i in range(stride):
                a = line[i - bpp] if i >= bpp else 0
                b = prev[i]
                c = prev[i - bpp] if i >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pred) & 0xFF
        rows.append(bytes(line))
        prev = line
    return width, height, rows


def pixel_histogram(data: bytes) -> dict[bytes, int]:
    width, _, rows = png_pixels(data)
    bpp = len(rows[0]) // width if rows else 4
    counts: dict[bytes, int] = {}
    for row in rows:
        for x in range(0, len(row), bpp):
            px = row[x : x + bpp]
            counts[px] = counts.get(px, 0) + 1
    return counts


def pdf_page_count(data: bytes) -> int:
    assert data.startswith(b"%PDF-"), "not a PDF"
    return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", data))
