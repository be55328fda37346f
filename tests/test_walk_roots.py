"""Whole-agent walks and agents that answer walks badly (SnmpDevice.walk).

Roots: ``"."`` / ``""`` walk everything an agent has, ``"0"``, ``"1"``, ``"2"``
everything under that top arc (console/oid.py ``parse_walk_root``, ``walk_start``).
The agent is :class:`tests.snmp_peers.WalkAgent`, a scripted responder in the test's
loop: it serves OIDs under all three top arcs (snmpd has data only under 1.3.6.1)
and misbehaves on demand: ``tooBig`` above a number of var-binds, answers without
var-binds, answers that go backwards. The recordings of real devices compare
whole-agent walks with Net-SNMP (tests/test_recordings.py).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

import pytest

from console.config import SnmpDeviceConfig
from console.events import EventManager
from console.oid import (
    format_walk_root,
    lookup_walk_root,
    parse_walk_root,
    walk_start,
)
from console.secrets import Secret
from console.snmp import SnmpDevice, SnmpOperationError
from tests.snmp_peers import WalkAgent
from tests.waiting import EventRecorder

# -- the roots (pure) -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "arcs", "shown", "start"),
    [
        (".", (), ".", (0, 0)),
        ("", (), ".", (0, 0)),
        ("  .  ", (), ".", (0, 0)),
        ("0", (0,), "0", (0, 0)),
        ("1", (1,), "1", (1, 0)),
        (".1", (1,), "1", (1, 0)),
        ("02", (2,), "2", (2, 0)),
        ("1.3", (1, 3), "1.3", (1, 3)),
        (".1.3.6.1.2.1.1", (1, 3, 6, 1, 2, 1, 1), "1.3.6.1.2.1.1", (1, 3, 6, 1, 2, 1, 1)),
    ],
)
def test_walk_roots(text: str, arcs: tuple[int, ...], shown: str, start: tuple[int, ...]) -> None:
    assert parse_walk_root(text) == arcs
    assert format_walk_root(arcs) == shown
    assert walk_start(arcs) == start
    assert lookup_walk_root(text, _no_names) == shown


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("3", "'3' is not a numeric OID: the first arc must be 0, 1 or 2, not 3"),
        (".7", "'.7' is not a numeric OID: the first arc must be 0, 1 or 2, not 7"),
        ("..", "'..' is not a numeric OID: arc 1 is empty (two dots in a row, or a trailing dot)"),
        ("1.", "'1.' is not a numeric OID: arc 2 is empty (two dots in a row, or a trailing dot)"),
        ("-1", "'-1' is not a numeric OID: arc 1 ('-1') is negative"),
        ("1.3.x", "'1.3.x' is not a numeric OID: arc 3 ('x') is not a number"),
    ],
)
def test_bad_walk_roots_say_why(text: str, message: str) -> None:
    with pytest.raises(ValueError, match="is not a numeric OID") as info:
        parse_walk_root(text)
    assert str(info.value) == message
    with pytest.raises(ValueError, match="is not a numeric OID") as looked_up:
        lookup_walk_root(text, _no_names)
    assert str(looked_up.value) == message


def test_lookup_walk_root_passes_names_to_the_lookup() -> None:
    names = {"IF-MIB::ifTable": "1.3.6.1.2.1.2.2", "iso": "1"}
    assert lookup_walk_root(" IF-MIB::ifTable ", names.__getitem__) == "1.3.6.1.2.1.2.2"
    assert lookup_walk_root("iso", names.__getitem__) == "1"
    with pytest.raises(ValueError, match="unknown MIB object 'ifTabel'"):
        lookup_walk_root("ifTabel", _no_names)


def _no_names(name: str) -> str:
    raise ValueError(f"unknown MIB object {name!r}")


# -- walks of a scripted agent --------------------------------------------------------------

OUTSIDE = {
    "0.1.7.0": 7,  # under the top arc 0 (ITU-T)
    "1.0.8802.1.1.2.1.1.1.0": 30,  # LLDP-MIB lldpMessageTxInterval
    "1.2.840.10006.300.43.1.1.1.1.2.1": 1,  # IEEE8023-LAG-MIB
    "1.3.6.1.2.1.1.3.0": 12345,
    "1.3.6.1.2.1.1.5.0": "agent",
    "1.3.111.2.802.1.1.1.0": 4,  # IEEE 802.1 (Palo Alto keeps data here)
    "2.999.1.0": 9,  # under the top arc 2 (joint ISO/ITU-T example arc)
}


def _values(spec: dict[str, Any]) -> dict[str, Any]:
    from pysnmp.proto import rfc1902

    return {
        oid: rfc1902.OctetString(value) if isinstance(value, str) else rfc1902.Integer32(value)
        for oid, value in spec.items()
    }


def _conf(port: int, version: str = "V2C") -> SnmpDeviceConfig:
    return SnmpDeviceConfig(
        remote_host="127.0.0.1",
        remote_port=port,
        community=Secret("public"),
        version=version,  # type: ignore[arg-type]  # "V1" or "V2C" from the parameters
        polling_oids=(),
        connect_delay=0.3,
        request_timeout=1.0,
        request_retry_count=0,
        polling_delay=60.0,
    )


@contextlib.asynccontextmanager
async def _device(
    agent: WalkAgent, bus: EventManager, version: str = "V2C"
) -> AsyncIterator[SnmpDevice]:
    recorder = EventRecorder(bus)
    async with SnmpDevice("agent", _conf(agent.port, version), bus) as device:
        await recorder.wait_for(lambda: device.status == "CONNECTED")
        yield device


async def _collect(rows: AsyncGenerator[tuple[str, Any], None], into: list[str]) -> None:
    async with contextlib.aclosing(rows) as walk:
        async for oid, _data in walk:
            into.append(oid)


def _walk_event(bus: EventManager, root: str) -> dict[str, Any]:
    event = bus.latest(("snmp", "agent", "walk", root))
    assert event is not None, f"no walk event for {root!r}"
    assert isinstance(event.payload, dict)
    return event.payload


def _sorted(oids: list[str]) -> list[str]:
    return sorted(oids, key=lambda oid: tuple(map(int, oid.split("."))))


@pytest.mark.parametrize("version", ["V2C", "V1"])
async def test_whole_agent_walks_reach_every_top_arc(bus: EventManager, version: str) -> None:
    everything = _sorted(list(OUTSIDE))
    async with WalkAgent(_values(OUTSIDE)) as agent, _device(agent, bus, version) as device:
        cases = {
            ".": everything,
            "": everything,
            "0": ["0.1.7.0"],
            "1": [oid for oid in everything if oid.startswith("1.")],
            "2": ["2.999.1.0"],
        }
        kind = "GETBULK" if version == "V2C" else "GETNEXT"
        for root, expected in cases.items():
            agent.requests.clear()
            walked: list[str] = []
            await _collect(device.walk(root, max_repetitions=3), walked)
            assert walked == expected, root
            shown = format_walk_root(parse_walk_root(root))
            # the first request asks for what follows N.0: BER cannot carry one arc
            assert agent.walk_requests()[0][:2] == (
                kind,
                ".".join(map(str, walk_start(parse_walk_root(root)))),
            ), root
            # nothing below the root is never read as an instance (no GET of 0.0)
            assert [r for r in agent.requests if r[0] == "GET"] == []
            payload = _walk_event(bus, shown)
            assert (payload["count"], payload["complete"], payload["error"]) == (
                len(expected),
                True,
                None,
            )


async def test_a_whole_agent_walk_of_an_empty_agent_ends_at_once(bus: EventManager) -> None:
    async with WalkAgent({}) as agent, _device(agent, bus) as device:
        walked: list[str] = []
        await _collect(device.walk("."), walked)
        assert walked == []
        assert agent.walk_requests() == [("GETBULK", "0.0", 25)]


#: 40 var-binds under 1.3.6.1.4.1.99999.1
MANY = {f"1.3.6.1.4.1.99999.1.{index}.0": index for index in range(1, 41)}


async def test_too_big_asks_for_fewer_repetitions_and_completes(bus: EventManager) -> None:
    async with WalkAgent(_values(MANY), max_answer=4) as agent, _device(agent, bus) as device:
        walked: list[str] = []
        await _collect(device.walk("1.3.6.1.4.1.99999", max_repetitions=25), walked)
        assert walked == _sorted(list(MANY))
        repetitions = [count for _kind, _oid, count in agent.walk_requests()]
        # 25 -> 12 -> 6 (tooBig each time), then 3 at a time: 40 var-binds and the end
        assert repetitions == [25, 12, 6] + [3] * 14
    assert _walk_event(bus, "1.3.6.1.4.1.99999")["complete"] is True


@pytest.mark.parametrize(
    ("version", "repetitions", "wording"),
    [
        (
            "V2C",
            [25, 12, 6, 3, 1],
            "GETBULK after 1.3.6.1.4.1.99999 answered TOO_BIG even for max-repetitions 1",
        ),
        ("V1", [0], "GETNEXT after 1.3.6.1.4.1.99999 answered TOO_BIG even for a single var-bind"),
    ],
)
async def test_too_big_even_for_one_var_bind_ends_the_walk(
    bus: EventManager, version: str, repetitions: list[int], wording: str
) -> None:
    async with (
        WalkAgent(_values(MANY), max_answer=0) as agent,
        _device(agent, bus, version) as device,
    ):
        walked: list[str] = []
        with pytest.raises(SnmpOperationError) as info:
            await _collect(device.walk("1.3.6.1.4.1.99999", max_repetitions=25), walked)
        assert info.value.error == "TOO_BIG"
        assert wording in str(info.value)
        assert walked == []
        assert [count for _kind, _oid, count in agent.walk_requests()] == repetitions
    payload = _walk_event(bus, "1.3.6.1.4.1.99999")
    assert (payload["complete"], payload["error"]) == (False, "TOO_BIG")


@pytest.mark.parametrize("version", ["V2C", "V1"])
async def test_an_answer_without_var_binds_ends_the_walk(bus: EventManager, version: str) -> None:
    async with (
        WalkAgent(_values(MANY), empty_after="1.3.6.1.4.1.99999.1.10.0") as agent,
        _device(agent, bus, version) as device,
    ):
        walked: list[str] = []
        with pytest.raises(SnmpOperationError) as info:
            await _collect(device.walk("1.3.6.1.4.1.99999", max_repetitions=5), walked)
        assert info.value.error == "EMPTY_RESPONSE"
        assert "after 1.3.6.1.4.1.99999.1.10.0 answered no var-binds" in str(info.value)
        assert walked == _sorted(list(MANY))[:10]
        # no second try of the same request: it would answer the same
        assert agent.walk_requests()[-1][1] == "1.3.6.1.4.1.99999.1.10.0"
        assert [r[1] for r in agent.walk_requests()].count("1.3.6.1.4.1.99999.1.10.0") == 1
    payload = _walk_event(bus, "1.3.6.1.4.1.99999")
    assert (payload["count"], payload["error"]) == (10, "EMPTY_RESPONSE")


@pytest.mark.parametrize("root", [".", "1.3.6.1.4.1.99999"])
async def test_an_agent_that_starts_over_ends_the_walk(bus: EventManager, root: str) -> None:
    async with (
        WalkAgent(_values(MANY), backwards_after="1.3.6.1.4.1.99999.1.20.0") as agent,
        _device(agent, bus) as device,
    ):
        walked: list[str] = []
        with pytest.raises(SnmpOperationError) as info:
            await _collect(device.walk(root, max_repetitions=10), walked)
        assert info.value.error == "OID_NOT_INCREASING"
        assert "answered 1.3.6.1.4.1.99999.1.1.0 after 1.3.6.1.4.1.99999.1.20.0" in str(info.value)
        assert walked == _sorted(list(MANY))[:20]
    assert _walk_event(bus, root)["error"] == "OID_NOT_INCREASING"
