"""An MQTT flood for the benchmarks, run as its own process (so its memory and CPU
are not the measured process's): ``COUNT`` QoS 0 messages of ``SIZE`` bytes spread
round-robin over ``TOPICS`` topics, optionally paced to ``RATE`` messages per second.

Topics are ``bench/dev{N // 100:04d}/m{N % 100:02d}``: 100 metrics per device, so a
``device_rules`` template ``bench/{device}/#`` gives ``TOPICS / 100`` MQTT devices.

Usage: ``python -m bench.flood PORT COUNT TOPICS [RATE] [SIZE]`` (RATE 0: as fast as
paho can). Prints ``sent N in S s`` to stderr when done; exit status 0.
"""

from __future__ import annotations

import sys
import time

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

__all__ = ["flood", "topic_of"]

#: Messages published per pacing tick (a tick is ``TICK / RATE`` seconds).
TICK = 200


def topic_of(index: int) -> str:
    """The topic of topic number ``index``."""
    return f"bench/dev{index // 100:04d}/m{index % 100:02d}"


def flood(port: int, count: int, topics: int, rate: float = 0.0, size: int = 100) -> float:
    """Publish the flood to 127.0.0.1:``port``; return the seconds it took.

    Args:
        port: the broker's port.
        count: messages to publish.
        topics: distinct topics, used round-robin.
        rate: messages per second (0: unpaced).
        size: payload bytes (a JSON number padded with spaces: a numeric value).
    """
    client = paho.Client(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id=f"bench-flood-{port}",
        protocol=MQTTProtocolVersion.MQTTv311,
    )
    client.max_queued_messages_set(0)
    client.connect("127.0.0.1", port)
    client.loop_start()
    names = [topic_of(i) for i in range(topics)]
    start = time.perf_counter()
    info = None
    for n in range(count):
        payload = f"{n % 1000}".ljust(size).encode()
        info = client.publish(names[n % topics], payload, qos=0)
        if rate and n % TICK == TICK - 1:
            due = start + (n + 1) / rate
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
    if info is not None:
        info.wait_for_publish(timeout=120)
    elapsed = time.perf_counter() - start
    client.disconnect()
    client.loop_stop()
    return elapsed


def main(argv: list[str]) -> int:
    """Command line entry: ``PORT COUNT TOPICS [RATE] [SIZE]``."""
    port, count, topics = int(argv[0]), int(argv[1]), int(argv[2])
    rate = float(argv[3]) if len(argv) > 3 else 0.0
    size = int(argv[4]) if len(argv) > 4 else 100
    elapsed = flood(port, count, topics, rate, size)
    print(f"sent {count} in {elapsed:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
