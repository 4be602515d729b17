"""Headless Chromium for the explorer: its self-test read back from the page, and screenshots.

``chromium --headless --dump-dom page.html#selftest`` runs the page's own self-test (which
clicks, hovers and moves the slider through the page's DOM and writes what it saw into
``<pre id="selftest-result">``); ``--screenshot`` takes a picture. Chromium comes from the OS
packages (``make chromium``: apt-get install chromium); without it, :func:`chromium` is None.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

# flags that work in a container without a display, a GPU or a network
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage")


def chromium() -> str | None:
    """The path of a Chromium/Chrome binary, or None."""
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


def _run(page: Path, extra: list[str], fragment: str, timeout: float) -> subprocess.CompletedProcess:
    exe = chromium()
    if exe is None:
        raise FileNotFoundError("no Chromium found: install it (Debian/Ubuntu: apt-get install "
                                "chromium; or make chromium)")
    with tempfile.TemporaryDirectory(prefix="tinygrad-rnn-chromium-") as profile:
        url = Path(page).resolve().as_uri() + fragment
        return subprocess.run([exe, *FLAGS, f"--user-data-dir={profile}", "--enable-logging=stderr",
                               "--v=0", "--virtual-time-budget=5000", *extra, url],
                              capture_output=True, timeout=timeout, text=True)


def self_test(page: str | Path, timeout: float = 60.0) -> tuple[dict, list[str]]:
    """(what the page's self-test saw, the console messages Chromium logged)."""
    done = _run(Path(page), ["--dump-dom"], "#selftest", timeout)
    found = re.search(r'<pre id="selftest-result">(.*?)</pre>', done.stdout, re.S)
    if not found or not found.group(1):
        raise RuntimeError(f"the page wrote no self-test result; chromium said:\n{done.stderr[-3000:]}")
    console = [line for line in done.stderr.splitlines() if ":CONSOLE" in line]
    return json.loads(html.unescape(found.group(1))), console


def screenshot(page: str | Path, out: str | Path, fragment: str = "", size: str = "1600,900",
               timeout: float = 60.0) -> Path:
    """A PNG of the page as it opens (``fragment``: e.g. ``#view=collapsed&open=t3&k=40``)."""
    out = Path(out).resolve()
    _run(Path(page), [f"--screenshot={out}", f"--window-size={size}", "--hide-scrollbars"],
         fragment, timeout)
    if not out.exists():
        raise RuntimeError(f"chromium wrote no screenshot to {out}")
    return out
