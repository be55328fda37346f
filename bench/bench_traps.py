"""Trap receiver throughput: SNMPv2c TRAPs on loopback into fleettop's TrapReceiver.

A separate process (this module with ``--send``, so the sender never competes for the
receiver's GIL) builds one SNMPv2-Trap datagram with pysnmp (linkDown with ifIndex,
ifAdminStatus, ifOperStatus and a fixed-width sequence string), then sends copies
with a plain UDP socket, patching only the sequence number. The receiver runs as in
fleettop: pysnmp engine, MIB names (``MibResolver``), events published on the bus;
one subscriber counts the distinct sequence numbers delivered.

Phases:

1. ``paced``: 1,000 traps/s for 10 s (each datagram sent at ``start + i / rate``),
   with the receiver's default 4 MiB ``SO_RCVBUF``. Target: nothing lost.
2. ``burst``: 6,000 datagrams as fast as the sender can (~50-90k/s), with the
   system's default receive buffer and then with 4 MiB, to show what the larger
   buffer buys: the receiver drains at its own pace what the socket could hold; the
   rest is lost in the kernel.
3. ``bare_pysnmp_burst``: the baseline, pysnmp's NotificationReceiver alone (its own
   transport, a callback that only counts), 3,000 datagrams, same buffer.

Reported per phase: ``sent``, ``received`` (distinct sequence numbers on the bus),
``lost``, ``sender_rate`` (datagrams/s), ``receive_rate`` (traps/s between the first
and the last delivery: wall clock, so it drops when other processes share the CPU),
``cpu_us_per_trap`` (this process's CPU time per trap, sender excluded) and
``cpu_bound_capacity_per_s`` (its inverse: the rate one free core sustains), the
effective ``SO_RCVBUF`` (Linux reports twice the granted size); ``cpu_ratio_vs_bare``
compares fleettop's CPU per trap with the baseline's. Anchors: snmptrapd
~2-2.5k traps/s; pysnmp's maintainer quotes 1.5-2k v1 traps/s for a simple receiver.

Usage: ``python -m bench.bench_traps`` (or ``python -m bench traps``); about 30 s.
Prints a JSON summary and returns it from :func:`main`.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import socket
import sys
import time
import warnings
from typing import Any

from console.config import TrapsConfig
from console.events import Event, EventManager
from console.secrets import Secret
from console.snmp.mib import MibResolver
from console.snmp.traps import DEFAULT_RECEIVE_BUFFER, TrapReceiver

__all__ = ["main"]

#: Paced phase: traps per second and seconds.
RATE = 1000
SECONDS = 10.0
#: Datagrams of each unpaced burst (fleettop), and of the bare pysnmp baseline's.
BURST = 6_000
BARE_BURST = 3_000
#: Seconds without a new delivery after the sender finished: the phase is over.
QUIET = 1.0
COMMUNITY = "public"
_SEQUENCE_OID = (1, 3, 6, 1, 4, 1, 32473, 9, 1, 0)
_SEQUENCE_WIDTH = 10


def _template() -> tuple[bytes, int]:
    """The datagram and the offset of its ``_SEQUENCE_WIDTH``-digit sequence text."""
    from pysnmp.proto.api import v2c

    from console.demo.traps import LINK_DOWN, v2c_trap

    marker = b"#" * _SEQUENCE_WIDTH
    datagram = v2c_trap(
        Secret(COMMUNITY),
        LINK_DOWN,
        123456,
        [
            ((1, 3, 6, 1, 2, 1, 2, 2, 1, 1, 3), v2c.Integer32(3)),
            ((1, 3, 6, 1, 2, 1, 2, 2, 1, 7, 3), v2c.Integer32(1)),
            ((1, 3, 6, 1, 2, 1, 2, 2, 1, 8, 3), v2c.Integer32(2)),
            (_SEQUENCE_OID, v2c.OctetString(marker)),
        ],
    )
    return datagram, datagram.index(marker)


def _send(host: str, port: int, rate: float, count: int) -> dict[str, Any]:
    """Send ``count`` datagrams to ``(host, port)``, ``rate`` per second (0: unpaced)."""
    datagram, offset = _template()
    buffer = bytearray(datagram)
    end = offset + _SEQUENCE_WIDTH
    sent = 0
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        started = time.perf_counter()
        for seq in range(count):
            if rate:
                delay = started + seq / rate - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
            buffer[offset:end] = b"%0*d" % (_SEQUENCE_WIDTH, seq)
            try:
                sock.sendto(buffer, (host, port))
                sent += 1
            except OSError:  # e.g. ENOBUFS: not sent, so not lost by the receiver
                pass
        elapsed = time.perf_counter() - started
    return {"sent": sent, "seconds": elapsed}


async def _start_sender(
    host: str, port: int, rate: float, count: int
) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.bench_traps",
        "--send",
        host,
        str(port),
        str(rate),
        str(count),
        stdout=asyncio.subprocess.PIPE,
    )


async def _settle(count: int, progress: list[float]) -> None:
    """Return once ``count`` arrived, or nothing new came for ``QUIET`` seconds."""
    while len(progress) < count:
        before = len(progress)
        await asyncio.sleep(QUIET)
        if len(progress) == before:
            return


def _figures(
    sent: dict[str, Any], received: int, arrivals: list[float], cpu: float
) -> dict[str, Any]:
    span = arrivals[-1] - arrivals[0] if len(arrivals) > 1 else 0.0
    cpu_per_trap = cpu / received if received else None
    return {
        "sent": sent["sent"],
        "received": received,
        "lost": sent["sent"] - received,
        "sender_rate": round(sent["sent"] / sent["seconds"]),
        "receive_rate": round(received / span) if span else None,
        "cpu_us_per_trap": round(cpu_per_trap * 1e6, 1) if cpu_per_trap else None,
        "cpu_bound_capacity_per_s": round(1 / cpu_per_trap) if cpu_per_trap else None,
    }


async def _phase(
    mib: MibResolver, *, rate: float, count: int, receive_buffer: int | None
) -> dict[str, Any]:
    """fleettop's receiver, one sender process; returns the phase's figures."""
    gc.collect()
    async with EventManager() as bus:
        seen: set[int] = set()
        arrivals: list[float] = []

        def on_trap(event: Event) -> None:
            payload = event.payload
            assert isinstance(payload, dict)
            varbinds = payload["varbinds"]
            assert isinstance(varbinds, list)
            last = varbinds[-1]
            assert isinstance(last, dict)
            seen.add(int(str(last["value"])))
            arrivals.append(time.perf_counter())

        subscription = bus.subscribe(("snmp", "?", "trap", "*"), on_trap, maxsize=10 * count)
        config = TrapsConfig(listen_port=0, communities=(Secret(COMMUNITY),))
        receiver = TrapReceiver(config, bus, mib=mib, receive_buffer=receive_buffer)
        await receiver.start()
        try:
            cpu = time.process_time()
            sender = await _start_sender(*receiver.address, rate, count)
            output, _ = await sender.communicate()
            await _settle(count, arrivals)
            await subscription.drain()
            cpu = time.process_time() - cpu
            stats = receiver.stats
            buffer = receiver.receive_buffer
        finally:
            await receiver.aclose()
    return {
        **_figures(json.loads(output), len(seen), arrivals, cpu),
        "so_rcvbuf": buffer,
        "receiver_stats": {
            "received": stats.received,
            "rejected": stats.rejected,
            "malformed": stats.malformed,
        },
        "bus_dropped": subscription.stats.dropped,
    }


async def _bare_phase(count: int) -> dict[str, Any]:
    """Baseline: pysnmp's NotificationReceiver alone (its own transport, a callback
    that only counts), same socket buffer, an unpaced burst."""
    from pysnmp.carrier.asyncio.dgram import udp
    from pysnmp.carrier.asyncio.dispatch import AsyncioDispatcher
    from pysnmp.entity import config as snmp_config
    from pysnmp.entity.engine import SnmpEngine
    from pysnmp.entity.rfc3413 import ntfrcv

    gc.collect()
    arrivals: list[float] = []
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, DEFAULT_RECEIVE_BUFFER)
    sock.bind(("127.0.0.1", 0))
    sock.setblocking(False)
    address = sock.getsockname()
    engine = SnmpEngine()
    engine.register_transport_dispatcher(AsyncioDispatcher(timeout=1.0))
    transport = udp.UdpAsyncioTransport()
    await asyncio.get_running_loop().create_datagram_endpoint(lambda: transport, sock=sock)
    snmp_config.add_transport(engine, udp.DOMAIN_NAME, transport)
    snmp_config.add_v1_system(engine, "bench", COMMUNITY)

    def on_notification(*_args: Any) -> None:
        arrivals.append(time.perf_counter())

    receiver = ntfrcv.NotificationReceiver(engine, on_notification)
    try:
        cpu = time.process_time()
        sender = await _start_sender(address[0], address[1], 0, count)
        output, _ = await sender.communicate()
        await _settle(count, arrivals)
        cpu = time.process_time() - cpu
    finally:
        receiver.close(engine)
        timer = engine.transport_dispatcher.loopingcall
        engine.close_dispatcher()
        if timer is not None:
            await asyncio.wait([timer])
    return _figures(json.loads(output), len(arrivals), arrivals, cpu)


async def _run() -> dict[str, Any]:
    mib = MibResolver()
    await mib.aload()
    large = DEFAULT_RECEIVE_BUFFER
    paced = await _phase(mib, rate=RATE, count=int(RATE * SECONDS), receive_buffer=large)
    burst_default = await _phase(mib, rate=0, count=BURST, receive_buffer=None)
    burst_large = await _phase(mib, rate=0, count=BURST, receive_buffer=large)
    bare = await _bare_phase(BARE_BURST)
    ours_cpu, bare_cpu = burst_large["cpu_us_per_trap"], bare["cpu_us_per_trap"]
    return {
        "paced": {"rate": RATE, "seconds": SECONDS, **paced},
        "burst_default_buffer": burst_default,
        "burst_4mib_buffer": burst_large,
        "bare_pysnmp_burst": bare,
        "cpu_ratio_vs_bare": round(ours_cpu / bare_cpu, 2) if ours_cpu and bare_cpu else None,
        "target": f"no loss at {RATE}/s for {SECONDS:g} s",
        "target_met": paced["lost"] == 0,
    }


def main() -> dict[str, Any]:
    """Run the benchmark, print a JSON summary and return it.

    Returns:
        ``{"paced": {...}, "burst_default_buffer": {...}, "burst_4mib_buffer": {...},
        "bare_pysnmp_burst": {...}, "cpu_ratio_vs_bare", "target", "target_met"}``;
        each phase as in the module docstring.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        results = asyncio.run(_run())
    print(json.dumps(results, indent=2))
    return results


def _sender_main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="bench.bench_traps --send")
    parser.add_argument("host")
    parser.add_argument("port", type=int)
    parser.add_argument("rate", type=float)
    parser.add_argument("count", type=int)
    args = parser.parse_args(argv)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        print(json.dumps(_send(args.host, args.port, args.rate, args.count)))


if __name__ == "__main__":
    if sys.argv[1:2] == ["--send"]:
        _sender_main(sys.argv[2:])
    else:
        main()
