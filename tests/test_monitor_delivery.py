"""Monitors that deliver (console/notifications/delivery/, docs/monitors.md).

Real peers: an aiohttp endpoint on a free port that records the requests it
acknowledges (tests/delivery_peers.py), stopped and started again on the same port
for an outage; TCP clients written from the framing documentation; a real store
file and a real Runtime for the restart. Waits are bounded conditions, never timed
assertions.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import re
import ssl
import sys
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from console.config import BrokerTls, MonitorConfig, ReconnectConfig, parse_config
from console.events import EventManager
from console.notifications.delivery import DeliveryStatus, HttpDelivery, TcpDelivery
from console.notifications.delivery.outbox import Batch, Outbox
from console.notifications.monitors import Monitor, MonitorSet
from console.runtime import Runtime
from console.secrets import Secret
from console.store import PropertyStore
from tests.conftest import free_tcp_port
from tests.delivery_peers import Endpoint, FrameClient
from tests.mqtt_peers import make_certificates
from tests.waiting import EventRecorder, eventually

FAST = ReconnectConfig(min=0.02, max=0.1, jitter=0.0)
PASSWORD = "pw-Zq81-never-shown"
TOKEN = f"noc-user:{PASSWORD}"


class StatusLog(EventRecorder):
    """The statuses a monitor published, in order."""

    def __init__(self, bus: EventManager, name: str) -> None:
        super().__init__(bus, ("monitor", name, "status"))

    @property
    def statuses(self) -> list[str]:
        return [str(event.payload["status"]) for event in self.events]  # type: ignore[index,call-overload]


@pytest.fixture
async def endpoint() -> AsyncIterator[Endpoint]:
    peer = Endpoint()
    await peer.start()
    yield peer
    await peer.stop()


def http_monitor(url: str, **overrides: Any) -> MonitorConfig:
    config = MonitorConfig(
        name="noc",
        events=(("test", "*"),),
        batch_size=3,
        batch_duration=0.05,
        transport="http",
        url=url,
        retry=FAST,
    )
    return replace(config, **overrides)


def publish(bus: EventManager, *numbers: int) -> None:
    for number in numbers:
        bus.publish(("test", "e"), number)


async def started(bus: EventManager, config: MonitorConfig, **kw: Any) -> MonitorSet:
    monitors = MonitorSet(bus, [config], **kw)
    await monitors.start()
    return monitors


def delivery_of(monitors: MonitorSet, name: str = "noc") -> Any:
    delivery = monitors.monitors[name].delivery
    assert delivery is not None
    return delivery


# -- HTTP --------------------------------------------------------------------------------


async def test_http_batches_by_size_and_duration_compressed_with_basic_auth(
    bus: EventManager, endpoint: Endpoint
) -> None:
    """7 events, batch_size 3: two full batches, then the 7th alone once the duration
    ends; each one request, zlib-compressed (Content-Encoding: deflate), with the
    basic-auth header, numbered from 1; events in order, as --headless prints them."""
    config = http_monitor(
        endpoint.url, compression="zlib", token=Secret(TOKEN), method="POST", batch_duration=0.2
    )
    monitors = await started(bus, config)
    try:
        publish(bus, *range(7))
        await eventually(lambda: len(endpoint.events) == 7)
        assert [len(b["events"]) for b in endpoint.batches] == [3, 3, 1]
        assert [b["seq"] for b in endpoint.batches] == [1, 2, 3]
        assert endpoint.events == list(range(7))
        assert {b["monitor"] for b in endpoint.batches} == {"noc"}
        event = endpoint.batches[0]["events"][0]
        assert set(event) == {"seq", "type", "timestamp", "source_timestamp", "payload"}
        assert event["type"] == ["test", "e"]
        basic = "Basic " + base64.b64encode(TOKEN.encode()).decode()
        for attempt in endpoint.attempts:
            assert attempt["method"] == "POST"
            assert attempt["headers"]["Authorization"] == basic
            assert attempt["headers"]["Content-Encoding"] == "deflate"
            assert attempt["raw"][:1] == b"\x78"  # a zlib stream, not JSON
        delivery = delivery_of(monitors)
        assert delivery.stats.status is DeliveryStatus.ACTIVE
        # the endpoint has the 7th event before the monitor has read its answer
        await eventually(lambda: (delivery.stats.sent, delivery.stats.pending) == (3, 0))
    finally:
        await monitors.aclose()


async def test_http_uncompressed_put_by_default(bus: EventManager, endpoint: Endpoint) -> None:
    monitors = await started(bus, http_monitor(endpoint.url))
    try:
        publish(bus, 1)
        await eventually(lambda: endpoint.events == [1])
        (attempt,) = endpoint.attempts
        assert attempt["method"] == "PUT"
        assert "Content-Encoding" not in attempt["headers"]
        assert "Authorization" not in attempt["headers"]
        assert json.loads(attempt["raw"])["seq"] == 1
        assert attempt["headers"]["X-Fleettop-Sequence"] == "1"
    finally:
        await monitors.aclose()


async def test_http_outage_with_auto_replay_delivers_everything_once_in_order(
    bus: EventManager, endpoint: Endpoint
) -> None:
    """The endpoint answers 500 for a while, then goes away, then comes back: every
    event arrives exactly once and in order, and the status went ACTIVE ->
    CONNECTING (answers, not 2xx) -> SUSPENDED (unreachable, batches kept) ->
    ACTIVE."""
    log = StatusLog(bus, "noc")
    monitors = await started(bus, http_monitor(endpoint.url, auto_replay=True))
    delivery = delivery_of(monitors)
    try:
        publish(bus, 0, 1, 2)
        await eventually(lambda: endpoint.events == [0, 1, 2])
        endpoint.answer = 500
        publish(bus, 3, 4)
        await eventually(lambda: sum(a["status"] == 500 for a in endpoint.attempts) >= 2)
        await log.wait_for(lambda: log.statuses[-1] == "CONNECTING")
        await endpoint.stop()
        await log.wait_for(lambda: log.statuses[-1] == "SUSPENDED")
        publish(bus, 5, 6, 7, 8, 9)
        await eventually(lambda: delivery.stats.pending >= 3)
        retries = delivery.stats.retries
        await eventually(lambda: delivery.stats.retries > retries)  # still trying
        endpoint.answer = 200
        await endpoint.start()
        await eventually(lambda: len(endpoint.events) >= 10)
        await log.wait_for(lambda: log.statuses[-1] == "ACTIVE")
        assert endpoint.events == list(range(10))
        seqs = [b["seq"] for b in endpoint.batches]
        assert seqs == sorted(set(seqs))
        first_active = log.statuses.index("ACTIVE")
        assert log.statuses[0] == "CONNECTING"  # at start, before the first answer
        assert log.statuses[first_active:] == ["ACTIVE", "CONNECTING", "SUSPENDED", "ACTIVE"]
        assert delivery.stats.pending == 0
        assert delivery.stats.dropped == 0
        assert delivery.stats.last_connect is not None
    finally:
        await monitors.aclose()


async def test_http_outage_without_auto_replay_sends_nothing_of_meanwhile(
    bus: EventManager, endpoint: Endpoint
) -> None:
    """Without auto_replay, what happened while the endpoint was away is not sent:
    INACTIVE drops it; the first batch after it is back is delivered."""
    log = StatusLog(bus, "noc")
    monitors = await started(bus, http_monitor(endpoint.url))
    delivery = delivery_of(monitors)
    try:
        publish(bus, 0)
        await eventually(lambda: endpoint.events == [0])
        await endpoint.stop()
        publish(bus, 1, 2)
        await log.wait_for(lambda: log.statuses[-1] == "INACTIVE")
        await eventually(lambda: delivery.stats.pending == 0 and delivery.stats.dropped >= 1)
        publish(bus, 3)
        await eventually(lambda: delivery.stats.dropped >= 2)
        await endpoint.start()
        publish(bus, 4)
        await eventually(lambda: 4 in endpoint.events)
        assert endpoint.events == [0, 4]
        await log.wait_for(lambda: log.statuses[-1] == "ACTIVE")
        assert "SUSPENDED" not in log.statuses
    finally:
        await monitors.aclose()


async def test_http_disabled_after_unreachable_then_reenabled(bus: EventManager) -> None:
    """Unreachable for longer than disable_after: DISABLED, kept batches dropped,
    new ones not kept; the operator's re-enable delivers again."""
    endpoint = Endpoint()  # not started: nothing listens
    log = StatusLog(bus, "noc")
    config = http_monitor(endpoint.url, auto_replay=True, disable_after=0.3)
    monitors = await started(bus, config)
    delivery = delivery_of(monitors)
    try:
        publish(bus, 0)
        await log.wait_for(lambda: "DISABLED" in log.statuses)
        assert delivery.stats.pending == 0
        assert "nothing delivered for 0.3 s" in str(delivery.stats.reason)
        publish(bus, 1)
        await eventually(lambda: delivery.stats.dropped >= 2)
        await endpoint.start()
        assert "re-enabled" in delivery.enable()
        assert delivery.stats.status is DeliveryStatus.CONNECTING
        publish(bus, 2)
        await eventually(lambda: endpoint.events == [2])
        await log.wait_for(lambda: log.statuses[-1] == "ACTIVE")
    finally:
        await monitors.aclose()
        await endpoint.stop()


async def test_token_never_appears(
    bus: EventManager, endpoint: Endpoint, caplog: pytest.LogCaptureFixture
) -> None:
    """The token (and its password) is in no log line, bus event, status reason or
    repr, through a 401, an unreachable endpoint and a DISABLED monitor."""
    caplog.set_level(logging.DEBUG)
    everything = EventRecorder(bus)
    config = http_monitor(endpoint.url, token=Secret(TOKEN), auto_replay=True, disable_after=0.5)
    monitors = await started(bus, config)
    delivery = delivery_of(monitors)
    reasons: list[str] = []
    try:
        endpoint.answer = 401
        publish(bus, 0)
        await eventually(
            lambda: (
                delivery.stats.status is DeliveryStatus.CONNECTING
                and delivery.stats.reason is not None
            )
        )
        reasons.append(str(delivery.stats.reason))
        await endpoint.stop()
        await eventually(lambda: delivery.stats.status is DeliveryStatus.DISABLED)
        reasons.append(str(delivery.stats.reason))
    finally:
        await monitors.aclose()
    seen = "\n".join(
        [
            caplog.text,
            *reasons,
            repr(config),
            str(config),
            repr(delivery),
            *(json.dumps(event.to_json(), default=str) for event in everything.events),
        ]
    )
    assert "HTTP 401" in seen
    assert PASSWORD not in seen
    assert TOKEN not in seen
    assert base64.b64encode(TOKEN.encode()).decode() not in seen


async def test_restart_with_pending_batches_delivers_them(tmp_path: Path) -> None:
    """fleettop stops with batches kept (the endpoint away, auto_replay on); the next
    fleettop, same store, delivers them first, in order, numbers continuing."""
    endpoint = Endpoint()
    text = (
        f"store: {{path: {tmp_path / 'fleet.db'}}}\n"
        "monitors:\n"
        "  - name: noc\n"
        "    events: ['test/*']\n"
        "    batch_size: 2\n"
        "    batch_duration: 0.05\n"
        "    transport: http\n"
        f"    url: {endpoint.url}\n"
        "    auto_replay: true\n"
        "    retry: {min: 0.02, max: 0.1}\n"
    )
    config = parse_config(text, source="t.yaml", environ={})
    first = Runtime(config)
    await first.start()
    try:
        assert first.monitors is not None
        delivery = first.monitors.monitors["noc"].delivery
        assert isinstance(delivery, HttpDelivery)
        publish(first.bus, 0, 1, 2, 3, 4)
        await eventually(lambda: delivery.stats.pending == 3)
        assert delivery.stats.status is DeliveryStatus.SUSPENDED
    finally:
        await first.aclose()
    await endpoint.start()
    second = Runtime(config)
    await second.start()
    try:
        await eventually(lambda: len(endpoint.events) == 5)
        assert endpoint.events == [0, 1, 2, 3, 4]
        assert [b["seq"] for b in endpoint.batches] == [1, 2, 3]
        publish(second.bus, 5)
        await eventually(lambda: len(endpoint.batches) == 4)
        assert endpoint.batches[-1]["seq"] == 4
    finally:
        await second.aclose()
        await endpoint.stop()


# -- TCP ---------------------------------------------------------------------------------


def tcp_monitor(port: int, **overrides: Any) -> MonitorConfig:
    config = MonitorConfig(
        name="feed",
        events=(("test", "*"),),
        batch_size=3,
        batch_duration=0.05,
        transport="tcp",
        listen_host="127.0.0.1",
        listen_port=port,
    )
    return replace(config, **overrides)


async def test_tcp_explicit_ack_client_that_drops_mid_batch_gets_it_again(
    bus: EventManager,
) -> None:
    """ack explicit: a client reads part of a frame and disconnects; the next
    connection gets that batch again (same seq), and an ack removes it."""
    port = free_tcp_port()
    log = StatusLog(bus, "feed")
    monitors = await started(bus, tcp_monitor(port, ack="explicit", compression="zlib"))
    delivery = delivery_of(monitors, "feed")
    assert isinstance(delivery, TcpDelivery)
    try:
        await log.wait_for(lambda: log.statuses == ["INACTIVE"])
        client = await FrameClient.connect(port)
        await log.wait_for(lambda: log.statuses[-1] == "ACTIVE")
        publish(bus, 0, 1, 2)
        await eventually(lambda: delivery.stats.pending == 1)
        await client.reader.readexactly(5 + 3)  # the header and a little of the body
        await client.close()
        await log.wait_for(lambda: log.statuses[-1] == "INACTIVE")
        assert delivery.stats.pending == 1
        client = await FrameClient.connect(port)
        batch = await client.batch()
        assert (batch["seq"], [e["payload"] for e in batch["events"]]) == (1, [0, 1, 2])
        await client.ack(1)
        await eventually(lambda: delivery.stats.pending == 0)
        publish(bus, 3)
        batch = await client.batch()
        assert (batch["seq"], [e["payload"] for e in batch["events"]]) == (2, [3])
        await client.ack(2)
        await eventually(lambda: delivery.stats.sent == 2)
        await client.close()
    finally:
        await monitors.aclose()


async def test_tcp_several_clients_ack_off_and_replay(bus: EventManager) -> None:
    """ack off, auto_replay: with no client the batches are kept (SUSPENDED); the
    first client gets them, then both clients get every new batch."""
    port = free_tcp_port()
    monitors = await started(bus, tcp_monitor(port, auto_replay=True))
    delivery = delivery_of(monitors, "feed")
    try:
        assert delivery.stats.status is DeliveryStatus.SUSPENDED
        publish(bus, 0)
        await eventually(lambda: delivery.stats.pending == 1)
        first = await FrameClient.connect(port)
        assert (await first.batch())["seq"] == 1
        await eventually(lambda: delivery.stats.pending == 0)
        second = await FrameClient.connect(port)
        await eventually(lambda: delivery.stats.clients == 2)
        publish(bus, 1)
        one, two = await first.batch(), await second.batch()
        assert one == two
        assert [e["payload"] for e in one["events"]] == [1]
        await first.close()
        await second.close()
    finally:
        await monitors.aclose()


async def test_tcp_without_client_and_replay_keeps_nothing(bus: EventManager) -> None:
    port = free_tcp_port()
    monitors = await started(bus, tcp_monitor(port))
    delivery = delivery_of(monitors, "feed")
    monitor: Monitor = monitors.monitors["feed"]
    try:
        publish(bus, 0)
        await eventually(lambda: monitor.stats.events == 1)
        assert (delivery.stats.pending, delivery.stats.dropped) == (0, 1)
        client = await FrameClient.connect(port)
        await eventually(lambda: delivery.stats.clients == 1)
        publish(bus, 1)
        batch = await client.batch()
        assert (batch["seq"], [e["payload"] for e in batch["events"]]) == (2, [1])
        await client.close()
    finally:
        await monitors.aclose()


# -- the outbox ------------------------------------------------------------------------


async def test_outbox_bounds_drop_the_oldest_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    async with await PropertyStore.open(tmp_path / "s.db") as store:
        outbox = Outbox("m", max_batches=3, max_bytes=1_000, store=store)
        for seq in range(1, 6):
            await outbox.add(Batch(seq, 0.0, 1, b"x" * 10))
        assert [b.seq for b in outbox] == [3, 4, 5]
        assert caplog.text.count("monitor m: 1 kept batch dropped, oldest first") == 2
        await outbox.add(Batch(6, 0.0, 1, b"y" * 995))  # over the bytes: 3 dropped at once
        assert [b.seq for b in outbox] == [6]
        assert "monitor m: 3 kept batches dropped, oldest first" in caplog.text
        again = Outbox("m", max_batches=3, max_bytes=1_000, store=store)
        await again.load()
        assert [b.seq for b in again] == [6]


def test_monitor_status_events_are_status_notifications() -> None:
    """("monitor", NAME, "status") reaches the stream: SUSPENDED a warning, DISABLED
    an error, attributed to @NAME."""
    from console.event_types import Event
    from console.notifications.model import Category, Severity, classify

    def note(status: str) -> Any:
        event = Event(("monitor", "noc", "status"), {"status": status, "reason": "x"}, 0.0, None, 1)
        return classify(event)

    disabled, suspended, active = note("DISABLED"), note("SUSPENDED"), note("ACTIVE")
    assert (disabled.category, disabled.severity, disabled.device) == (
        Category.STATUS,
        Severity.ERROR,
        "@noc",
    )
    assert suspended.severity is Severity.WARNING
    assert active.severity is Severity.INFO
    assert disabled.summary == "DISABLED: x"


# -- TLS and DISABLED across restarts ---------------------------------------------------


async def test_https_verifies_the_certificate_by_default(bus: EventManager, tmp_path: Path) -> None:
    """An HTTPS endpoint whose CA the system does not trust: refused (nothing sent,
    the reason says why); with tls.ca_certs naming its CA, delivered."""
    certs = make_certificates(tmp_path / "certs")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certs.server_cert, certs.server_key)
    endpoint = Endpoint(ssl_context=context)
    await endpoint.start()
    strict = await started(bus, http_monitor(endpoint.url, name="strict"))
    trusting = await started(
        bus, http_monitor(endpoint.url, name="trusting", tls=BrokerTls(ca_certs=certs.ca))
    )
    try:
        publish(bus, 1)
        await eventually(lambda: endpoint.events == [1])  # the trusting one
        refused = delivery_of(strict, "strict")
        await eventually(lambda: refused.stats.status is DeliveryStatus.INACTIVE)
        assert "TLS certificate rejected" in str(refused.stats.reason)
        assert len(endpoint.attempts) == 1
    finally:
        await strict.aclose()
        await trusting.aclose()
        await endpoint.stop()


async def test_tcp_over_tls(bus: EventManager, tmp_path: Path) -> None:
    certs = make_certificates(tmp_path / "certs")
    port = free_tcp_port()
    tls = BrokerTls(certfile=certs.server_cert, keyfile=certs.server_key)
    monitors = await started(bus, tcp_monitor(port, tls=tls))
    delivery = delivery_of(monitors, "feed")
    try:
        assert delivery.destination == f"tls 127.0.0.1:{port}"
        client_context = ssl.create_default_context(cafile=str(certs.ca))
        client = await FrameClient.connect(port, ssl_context=client_context)
        await eventually(lambda: delivery.stats.clients == 1)
        publish(bus, 7)
        batch = await client.batch()
        assert [e["payload"] for e in batch["events"]] == [7]
        await client.close()
    finally:
        await monitors.aclose()


async def test_disabled_survives_a_restart_until_the_configuration_changes(
    tmp_path: Path,
) -> None:
    """DISABLED is kept in the store with the delivery settings: the same settings
    start DISABLED; changed ones (another method) start delivering again."""
    endpoint = Endpoint()  # nothing listens
    config = http_monitor(endpoint.url, disable_after=0.2, auto_replay=True)

    async def run(config: MonitorConfig) -> list[str]:
        store = await PropertyStore.open(tmp_path / "s.db", batch_window=0.01)
        async with store, EventManager() as bus:
            log = StatusLog(bus, "noc")
            monitors = await started(bus, config, store=store)
            try:
                if config.method == "PUT":
                    publish(bus, 1)
                await log.wait_for(lambda: log.statuses and log.statuses[-1] != "ACTIVE")
                if config.method == "PUT":
                    await log.wait_for(lambda: "DISABLED" in log.statuses)
                return log.statuses
            finally:
                await monitors.aclose()

    assert (await run(config))[-1] == "DISABLED"
    assert await run(config) == ["DISABLED"]
    await endpoint.start()
    try:
        assert (await run(replace(config, method="POST")))[0] == "CONNECTING"
    finally:
        await endpoint.stop()


async def test_the_documented_twenty_line_client_reads_and_acknowledges(
    bus: EventManager,
) -> None:
    """The Python client of docs/monitors.md, run as it is written (only its port
    changed), reads a zlib frame and acknowledges it."""
    docs = (Path(__file__).parent.parent / "docs" / "monitors.md").read_text(encoding="utf-8")
    (code,) = re.findall(r"```python\n(.*?)```", docs, re.S)
    assert len(code.strip().splitlines()) <= 22
    port = free_tcp_port()
    monitors = await started(bus, tcp_monitor(port, ack="explicit", compression="zlib"))
    delivery = delivery_of(monitors, "feed")
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-u",
        "-c",
        code.replace("9300", str(port)),
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        await eventually(lambda: delivery.stats.clients == 1)
        publish(bus, 5)
        assert process.stdout is not None
        async with asyncio.timeout(15):  # a hang bound, not a speed assertion
            line = await process.stdout.readline()
        assert line.decode().split() == ["1", "test/e", "5"]
        await eventually(lambda: delivery.stats.sent == 1 and delivery.stats.pending == 0)
    finally:
        process.kill()
        await process.wait()
        await monitors.aclose()
