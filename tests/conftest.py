"""Shared test fixtures and the suite's collection rules.

Peer programs (Debian ``snmpd``, ``snmpget``, ``mosquitto``) are found with
:func:`require_program`: a missing one skips the test locally with the reason, and
fails it when ``CI=true`` (CI installs them; a green CI must not hide a skipped peer).

Every test that runs a peer program carries the ``peer`` marker, so
``pytest -m "not peer"`` runs the fast, peer-free set. The marker is added at
collection from the fixtures a test uses (:data:`PEER_FIXTURES`); a test that starts
a peer in its body is marked ``@pytest.mark.peer("snmpd")`` (or by its module's
``pytestmark``). :func:`require_program` fails a test that runs a peer without the
marker, so a forgotten marker is caught the first time the test runs.

The suite runs in parallel (pytest-xdist, ``make test``): peers listen on free
loopback ports, every test has its own data directory, and compiled MIBs are shared
by the whole run (one cache directory for all workers, see
:func:`_shared_mib_cache`).
"""

from __future__ import annotations

import os
import shutil
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import textual.app
import textual.pilot
from textual._wait import wait_for_idle as _textual_wait_for_idle
from textual.css.stylesheet import Stylesheet

from console.events import EventManager

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}

#: Fixture name -> the peer program it starts. A test using one of these fixtures
#: (directly or through another fixture) is marked ``peer(program)`` at collection.
PEER_FIXTURES: dict[str, str] = {
    "snmpd": "snmpd",
    "broker": "mosquitto",
    "netsnmp_env": "net-snmp tools",
}

#: The longest ``pilot.press`` waits, per key, for the app to look idle (seconds).
#: Textual waits until a 20 ms window used under 1 ms of CPU, or 1 s: an app on the
#: live demo (agents polled every second, a stream of messages) is rarely that idle,
#: so every key cost up to 2 s of waiting, most of the Pilot tests' time. Tests wait
#: for what a key does with ``wait_for`` conditions, never for idleness.
PRESS_IDLE_MAX = 0.1


async def _wait_briefly_for_idle(min_sleep: float = 1 / 50, max_sleep: float = 1) -> None:
    """Textual's ``wait_for_idle`` capped at :data:`PRESS_IDLE_MAX`."""
    await _textual_wait_for_idle(min_sleep, min(max_sleep, PRESS_IDLE_MAX))


textual.app.wait_for_idle = _wait_briefly_for_idle  # type: ignore[attr-defined]
textual.pilot.wait_for_idle = _wait_briefly_for_idle  # type: ignore[attr-defined]

_PARSED_CSS: dict[tuple[object, ...], Any] = {}
_textual_parse_rules = Stylesheet._parse_rules


def _parse_rules_once_per_worker(
    self: Stylesheet,
    css: str,
    read_from: Any,
    is_default_rules: bool = False,
    tie_breaker: int = 0,
    scope: str = "",
) -> Any:
    """Textual's ``Stylesheet._parse_rules``, its result shared by every app of the
    test process. Textual caches a parse per stylesheet, and every app (each Pilot
    test has its own) parses the same CSS three times (at start, for the theme and for
    the first mode): a quarter of a Pilot test's CPU. The key is Textual's own cache
    key plus the CSS variables (the theme) the rules were parsed with."""
    key = (css, read_from, is_default_rules, tie_breaker, scope, frozenset(self._variables.items()))
    rules = _PARSED_CSS.get(key)
    if rules is None:
        rules = _PARSED_CSS[key] = _textual_parse_rules(
            self, css, read_from, is_default_rules, tie_breaker, scope
        )
    return rules


Stylesheet._parse_rules = _parse_rules_once_per_worker  # type: ignore[method-assign]

_running: pytest.Item | None = None
"""The test being set up, run or torn down in this process (each xdist worker is
its own process), for :func:`require_program`'s marker check."""


#: The slowest test modules (Pilot on the demo, real peers, MIB compiles), heaviest
#: first: they run first, so that no long test starts last while the other workers
#: sit idle (``--dist worksteal`` hands the rest out as workers free up). Only the
#: order of whole modules changes.
SLOW_MODULES = (
    "test_publish_properties_ui.py",
    "test_recordings.py",
    "test_value_display_recordings.py",
    "test_properties.py",
    "test_operations_ui.py",
    "test_snmp_operations.py",
    "test_notifications_ui.py",
    "test_mqtt_ui.py",
    "test_topics_ui.py",
    "test_store_crash.py",
    "test_snmp_manager.py",
    "test_app.py",
    "test_mib.py",
    "test_mib_names.py",
    "test_mib_cache.py",
    "test_snmp_v3.py",
    "test_traps.py",
    "test_mqtt_broker.py",
    "test_demo.py",
    "test_tables.py",
    "test_distributed.py",
    "test_sparkplug.py",
    "test_astarte_control.py",
    "test_walk_ui.py",
    "test_mib_browser.py",
    "test_serve_browser.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark ``peer`` every test that uses a fixture of :data:`PEER_FIXTURES`, and
    move the :data:`SLOW_MODULES` to the front (stable: modules stay whole, tests
    keep their order within a module)."""
    for item in items:
        names = getattr(item, "fixturenames", ())
        for fixture, program in PEER_FIXTURES.items():
            if fixture in names and item.get_closest_marker("peer") is None:
                item.add_marker(pytest.mark.peer(program))
    rank = {name: index for index, name in enumerate(SLOW_MODULES)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Remember the running test (see :func:`require_program`)."""
    global _running
    _running = item


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item: pytest.Item) -> None:
    """Forget the running test once it is torn down."""
    global _running
    _running = None


@pytest.fixture
async def bus() -> AsyncIterator[EventManager]:
    """A fresh event manager in the test's loop, closed afterwards."""
    async with EventManager() as manager:
        yield manager


@pytest.fixture(scope="session")
def _shared_mib_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The cache root (``FLEETTOP_CACHE_DIR``) of the whole run: MIBs a test compiles
    through the default cache are compiled once and found by every later test.

    Under pytest-xdist each worker has its own base temp directory
    (``.../pytest-N/popen-gwK``); the cache sits beside them, so the workers share
    it. ``console.snmp.mibs.compile_mibs`` compiles into a temporary sibling and
    renames it into place, so two workers compiling the same sources at once both
    end with one complete copy. Tests of the cache itself pass their own
    ``cache_dir``.
    """
    base = tmp_path_factory.getbasetemp()
    root = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    cache = root / "shared-cache"
    cache.mkdir(exist_ok=True)
    return cache


@pytest.fixture(autouse=True)
def _private_data_and_cache_dirs(
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
    _shared_mib_cache: Path,
) -> None:
    """Keep every test (and the fleettop subprocesses it starts) out of the user's
    data and cache directories: each test gets its own store; the MIB cache is the
    run's (:func:`_shared_mib_cache`)."""
    monkeypatch.setenv("FLEETTOP_DATA_DIR", str(tmp_path_factory.mktemp("data")))
    monkeypatch.setenv("FLEETTOP_CACHE_DIR", str(_shared_mib_cache))


def require_peer_marker(name: str) -> None:
    """Fail the running test unless it is marked ``peer``: a test that runs the peer
    ``name`` must be, so ``-m "not peer"`` leaves it out.

    Raises:
        pytest.fail.Exception: the running test is not marked.
    """
    if _running is not None and _running.get_closest_marker("peer") is None:
        pytest.fail(
            f"{_running.nodeid} runs the peer program {name!r} but is not marked: add "
            f"@pytest.mark.peer({name!r}) (or use a fixture of tests.conftest.PEER_FIXTURES)"
            ' so that `pytest -m "not peer"` leaves it out',
            pytrace=False,
        )


def require_program(name: str) -> str:
    """Return the path of program ``name``; skip (locally) or fail (CI) when missing.

    Raises:
        pytest.fail.Exception: the running test is not marked ``peer`` (a test that
            runs a peer program must be, so ``-m "not peer"`` leaves it out), or the
            program is missing and ``CI`` is set.
        pytest.skip.Exception: the program is missing (locally).
    """
    require_peer_marker(name)
    path = shutil.which(name) or next(
        (p for p in (f"/usr/sbin/{name}", f"/usr/bin/{name}") if os.path.exists(p)), None
    )
    if path is None:
        message = f"peer program {name!r} is not installed (apt-get install it, or run make peers)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return path


def free_udp_port() -> int:
    """Return a UDP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def free_tcp_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
