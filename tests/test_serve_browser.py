"""``fleettop serve --demo`` in a real browser: Debian's ``chromium`` driven by
Playwright (``docs/serve.md``).

Playwright rather than Selenium: it launches the Debian browser by its path
(``executable_path``, no driver binary whose version must match the browser's), gives
the HTTP status of a navigation (the 403 of a wrong token, before any page), waits
with bounded polls in the page (``wait_for_function``), and is one pip package in the
test extra; it never downloads a browser (``playwright install`` is never run: only
the ``executable_path`` is launched).

What the terminal shows is read from xterm.js's own buffer (``terminal.buffer.active``,
its public API): textual-serve keeps its ``Terminal`` in a closure, so an init script
catches it when the page's code assigns ``this.terminal`` (a setter on
``Object.prototype`` for that one name, which then defines the plain property). Every
wait is a bounded poll in the page; the bounds only stop a hung test.

``serve`` runs once for the module (one shared demo: mosquitto, two collectors), with
``FLEETTOP_SERVE_TOKEN`` set, so the token is required on loopback too. The console
processes are counted from ``/proc`` (the server's children running ``attach``).

``FLEETTOP_WRITE_DOCS_SCREENSHOT=1`` also writes the page's screenshot to
``docs/browser.png`` (the README's picture).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from console.demo import OUTAGE_DEVICE
from tests.conftest import free_tcp_port, require_program

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = [pytest.mark.peer("chromium"), pytest.mark.timeout(240)]

TOKEN = "test-token-0123456789abcdef"
#: Bound (ms) of one wait in the page: the demo and a console starting on a loaded
#: 2-core machine; only stops a hung test.
WAIT_MS = 90_000
ROOT = Path(__file__).resolve().parents[1]

#: Catches textual-serve's xterm.js Terminal (see the module docstring) and reads its
#: screen: the visible rows of the active buffer, trailing blanks trimmed.
INIT_SCRIPT = """
window.__terminals = [];
Object.defineProperty(Object.prototype, "terminal", {
  configurable: true,
  set(value) {
    Object.defineProperty(this, "terminal",
      {value, writable: true, configurable: true, enumerable: true});
    if (value && value.buffer && typeof value.open === "function") {
      window.__terminals.push(value);
    }
  },
});
window.__screenText = () => {
  const terminal = window.__terminals[0];
  if (!terminal) return "";
  const buffer = terminal.buffer.active;
  const rows = [];
  for (let i = 0; i < terminal.rows; i++) {
    const line = buffer.getLine(buffer.viewportY + i);
    rows.push(line ? line.translateToString(true) : "");
  }
  return rows.join("\\n");
};
window.__rowOf = (name) => window.__screenText().split("\\n")
  .find((row) => row.trimStart().startsWith(name + " ")) || "";
"""


class Served:
    """The running ``fleettop serve --demo``: its process and base URL."""

    def __init__(self, process: subprocess.Popen[bytes], url: str) -> None:
        self.process = process
        self.url = url
        self.children_at_stop: list[int] = []
        """The server's children when it was asked to stop."""

    def consoles(self) -> list[int]:
        """The pids of the server's children that are consoles (``attach``)."""
        pids: list[int] = []
        for pid in served_children(self.process.pid):
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"attach" in cmdline:
                pids.append(pid)
        return pids

    def wait_consoles(self, count: int, within: float = 30.0) -> None:
        """Poll until exactly ``count`` consoles run (``within`` s bounds a hung test)."""
        deadline = time.monotonic() + within
        while len(self.consoles()) != count:
            assert time.monotonic() < deadline, f"{self.consoles()} consoles, not {count}"
            time.sleep(0.1)


@contextlib.contextmanager
def serving(data: Path, *args: str) -> Iterator[Served]:
    """``fleettop serve ARGS`` on a free loopback port with :data:`TOKEN`, once it
    listens; stopped with SIGTERM afterwards, and checked to exit 0 leaving none of
    its children (consoles, the demo's mosquitto) behind."""
    port = free_tcp_port()
    env = {
        **os.environ,
        "FLEETTOP_SERVE_TOKEN": TOKEN,
        "FLEETTOP_DATA_DIR": str(data),
        "FLEETTOP_CACHE_DIR": str(data / "cache"),
    }
    log = (data / "serve.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "console.cli", "serve", "--port", str(port), *args],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    server = Served(process, f"http://127.0.0.1:{port}")
    try:
        deadline = time.monotonic() + 90
        while True:  # bounded: the demo starts before the server listens
            try:
                with urllib.request.urlopen(server.url + "/", timeout=5) as answer:
                    status = answer.status  # served without the token: wrong
            except urllib.error.HTTPError as exc:
                status = exc.code
            except OSError:
                assert process.poll() is None, (data / "serve.log").read_text()
                assert time.monotonic() < deadline, "serve did not listen within 90 s"
                time.sleep(0.1)
                continue
            break
        assert status == 403  # listening, and asks for the token
        yield server
    finally:
        server.children_at_stop = served_children(process.pid) if process.poll() is None else []
        process.terminate()
        try:
            assert process.wait(30) == 0, (data / "serve.log").read_text()
        finally:
            if process.poll() is None:
                process.kill()
            log.close()
        # nothing left behind: what ran under serve ended with it
        left = [pid for pid in server.children_at_stop if Path(f"/proc/{pid}").exists()]
        assert left == [], f"processes left behind: {left}"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """``fleettop serve --demo`` (one shared demo for the module; :func:`serving`)."""
    require_program("mosquitto")
    with serving(tmp_path_factory.mktemp("serve-data"), "--demo") as server:
        yield server
    assert server.children_at_stop  # its mosquitto at least, gone with it


def served_children(pid: int) -> list[int]:
    """The pids of the children of process ``pid`` (Linux ``/proc``)."""
    return [
        int(child)
        for task in Path(f"/proc/{pid}/task").iterdir()
        for child in (task / "children").read_text().split()
    ]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's chromium, headless, launched by Playwright by its path."""
    path = require_program("chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=path)
        try:
            yield chromium
        finally:
            chromium.close()


def open_console(browser: Browser, url: str, *, context: Any = None) -> Page:
    """A new tab on ``url`` with the terminal reader installed; the page's web font
    (Google's) is not fetched (no internet here)."""
    owner = (
        context
        if context is not None
        else browser.new_context(viewport={"width": 1280, "height": 720})
    )
    page: Page = owner.new_page()
    page.route("**/fonts.googleapis.com/**", lambda route: route.abort())
    page.add_init_script(INIT_SCRIPT)
    response = page.goto(url)
    assert response is not None
    assert response.status == 200
    return page


def wait_screen(page: Page, needle: str) -> None:
    """Poll the terminal until it shows ``needle`` (bounded by :data:`WAIT_MS`)."""
    page.wait_for_function(
        "(needle) => window.__screenText().includes(needle)",
        arg=needle,
        timeout=WAIT_MS,
        polling=100,
    )


def wait_devices(page: Page) -> None:
    """Poll until the Devices screen shows the demo's devices: the SNMP ones
    CONNECTED (the outage device CONNECTED or DISCONNECTED), the MQTT ones ONLINE."""
    page.wait_for_function(
        """([outage]) => {
          const ok = (name, statuses) => statuses.some((s) => window.__rowOf(name).includes(s));
          return ["core-sw1", "ups-1"].every((n) => ok(n, [" CONNECTED "]))
            && ok(outage, [" CONNECTED ", " DISCONNECTED "])
            && ["thermostat-1", "van-1", "sensor-7"].every((n) => ok(n, [" ONLINE "]));
        }""",
        arg=[OUTAGE_DEVICE],
        timeout=WAIT_MS,
        polling=200,
    )


def press(page: Page, key: str) -> None:
    """Type ``key`` into the terminal (xterm.js's input element has the focus)."""
    page.locator(".xterm-helper-textarea").focus()
    page.keyboard.press(key)


def test_the_page_shows_the_fleet_and_keys_move_between_screens(
    served: Served, browser: Browser, tmp_path: Path
) -> None:
    """The token in the address opens the page (then a cookie); the Devices screen
    shows the demo's devices; N and D move between screens; a screenshot is taken
    (written to docs/ when asked)."""
    page = open_console(browser, f"{served.url}/?token={TOKEN}")
    assert "token" not in page.url  # redirected without it, the cookie kept
    cookies = page.context.cookies()
    assert [c["name"] for c in cookies] == ["fleettop_serve_token"]
    assert cookies[0]["httpOnly"] is True
    wait_screen(page, "fleettop — devices")
    wait_devices(page)
    shot = tmp_path / "browser.png"
    page.screenshot(path=str(shot))
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    if os.environ.get("FLEETTOP_WRITE_DOCS_SCREENSHOT") == "1":
        (ROOT / "docs" / "browser.png").write_bytes(shot.read_bytes())

    press(page, "N")
    wait_screen(page, "fleettop — notifications")
    press(page, "D")
    wait_screen(page, "fleettop — devices")
    wait_devices(page)
    page.context.close()
    served.wait_consoles(0)  # the closed tab's console ended


def test_a_second_tab_is_a_console_of_its_own_and_closing_a_tab_ends_it(
    served: Served, browser: Browser
) -> None:
    """Two tabs at once: two console processes, keys in one do not move the other;
    closing each tab ends its console."""
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    first = open_console(browser, f"{served.url}/?token={TOKEN}", context=context)
    second = open_console(browser, f"{served.url}/", context=context)  # by the cookie
    for page in (first, second):
        wait_screen(page, "fleettop — devices")
        wait_devices(page)
    served.wait_consoles(2)

    press(second, "N")
    wait_screen(second, "fleettop — notifications")
    assert "fleettop — devices" in first.evaluate("window.__screenText()")
    press(first, "N")
    wait_screen(first, "fleettop — notifications")
    press(second, "D")
    wait_screen(second, "fleettop — devices")

    second.close()
    served.wait_consoles(1)
    assert "fleettop — notifications" in first.evaluate("window.__screenText()")
    first.close()
    served.wait_consoles(0)
    context.close()


def test_a_wrong_or_missing_token_is_refused_before_the_page(
    served: Served, browser: Browser
) -> None:
    """Without the token (or with a wrong one) the page, its files and its websocket
    answer 403 and no console starts; a websocket from another site is refused even
    with the cookie."""
    context = browser.new_context()
    page = context.new_page()
    for address in (f"{served.url}/?token=wrong-{TOKEN}", f"{served.url}/"):
        response = page.goto(address)
        assert response is not None
        assert response.status == 403
        assert "a valid token is required" in page.content()
        assert page.locator("#terminal").count() == 0  # no page, no xterm
    assert TOKEN not in page.content()
    for path in ("/ws", "/static/js/textual.js"):
        assert context.request.get(served.url + path).status == 403
    assert served.consoles() == []

    friend = browser.new_context()
    friend.request.get(f"{served.url}/?token={TOKEN}")  # sets the cookie
    upgrade = {
        "Connection": "Upgrade",
        "Upgrade": "websocket",
        "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
    }
    foreign = friend.request.get(
        served.url + "/ws", headers={**upgrade, "Origin": "http://attacker.example"}
    )
    assert foreign.status == 403
    assert served.consoles() == []
    friend.close()
    context.close()


def test_stopping_serve_closes_the_open_tabs_and_ends_their_consoles(
    browser: Browser, tmp_path: Path
) -> None:
    """SIGTERM to serve with two tabs open: both pages say the session ended, serve
    exits 0, and neither console is left (a broker nobody answers: the consoles
    start anyway)."""
    with serving(tmp_path, f"mqtt://127.0.0.1:{free_tcp_port()}") as server:
        context = browser.new_context(viewport={"width": 1280, "height": 720})
        tabs = [
            open_console(browser, f"{server.url}/?token={TOKEN}", context=context) for _ in range(2)
        ]
        for tab in tabs:
            wait_screen(tab, "fleettop — devices")
        server.wait_consoles(2)
    assert len(server.children_at_stop) == 2  # the two consoles, ended with serve
    for tab in tabs:
        tab.wait_for_selector("body.-closed", state="attached", timeout=WAIT_MS)
    context.close()
