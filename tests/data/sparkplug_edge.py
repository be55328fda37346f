"""A Sparkplug B edge node made with pysparkplug, driven line by line on stdin (run by
tests/sparkplug_peers.py in a virtual environment of its own: pysparkplug pins
paho-mqtt < 2). Each command prints ``ok`` (or ``error: ...``) when done.

Usage: python sparkplug_edge.py HOST PORT GROUP EDGE

Commands:
    connect                 connect: NBIRTH (and a DBIRTH per registered device)
    register DEVICE         register DEVICE (DBIRTH when connected): Double temperature
                            (alias 5), UInt32 rpm (alias 6), Boolean running, String
                            label, Int16 offset, FloatArray pressures
    ddata DEVICE NAME VALUE DDATA by name (the metric's datatype)
    ddata_alias DEVICE ALIAS VALUE   DDATA by alias only (no name, no datatype)
    ndata NAME VALUE        NDATA by name
    skip                    use up one seq number (a lost message)
    ddeath DEVICE           deregister DEVICE: DDEATH
    disconnect              a clean disconnect: NDEATH published by the node
    die                     exit at once, without DISCONNECT: the broker sends the Will
    commands                print the NCMD/DCMD received so far as one JSON line (then
                            ``ok``): ``[[topic, [[name, datatype, value], ...]], ...]``
"""

from __future__ import annotations

import json
import os
import sys
import time

import pysparkplug as psp

T = psp.DataType


def now() -> int:
    return int(psp.get_current_timestamp())


def device_metrics() -> list[psp.Metric]:
    return [
        psp.Metric(now(), "temperature", T.DOUBLE, value=20.5, alias=5),
        psp.Metric(now(), "rpm", T.UINT32, value=1200, alias=6),
        psp.Metric(now(), "running", T.BOOLEAN, value=True),
        psp.Metric(now(), "label", T.STRING, value="pump 3"),
        psp.Metric(now(), "offset", T.INT16, value=-7),
        psp.Metric(now(), "pressures", T.FLOAT_ARRAY, value=(1.5, 2.5)),
    ]


def parse(datatype: psp.DataType, text: str) -> object:
    if datatype in (T.DOUBLE, T.FLOAT):
        return float(text)
    if datatype == T.BOOLEAN:
        return text == "true"
    if datatype == T.STRING:
        return text
    return int(text)


RECEIVED: list[object] = []


def received(_node: object, message: psp.Message) -> None:
    """A command, decoded by pysparkplug (in paho's thread)."""
    RECEIVED.append(
        [
            str(message.topic),
            [[m.name, m.datatype.name, m.value] for m in message.payload.metrics],
        ]
    )


def main() -> None:
    host, port, group, edge = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    node = psp.EdgeNode(
        group,
        edge,
        metrics=[
            psp.Metric(now(), "uptime", T.UINT64, value=1),
            psp.Metric(now(), "firmware", T.STRING, value="1.2.3"),
            psp.Metric(now(), "Node Control/Rebirth", T.BOOLEAN, value=False),
        ],
        cmd_callback=received,
    )
    types = {m.name: m.datatype for m in device_metrics()}
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        try:
            command, args = words[0], words[1:]
            if command == "connect":
                node.connect(host, port=port, blocking=False)
                deadline = time.monotonic() + 10
                while not node._connected:
                    if time.monotonic() > deadline:
                        raise RuntimeError("not connected within 10 s")
                    time.sleep(0.01)
            elif command == "register":
                node.register(psp.Device(args[0], device_metrics(), cmd_callback=received))
            elif command == "ddata":
                device, name, value = args
                node.update_device(
                    device, [psp.Metric(now(), name, types[name], value=parse(types[name], value))]
                )
            elif command == "ddata_alias":
                device, alias, value = args
                metric = psp.Metric(now(), None, T.DOUBLE, value=float(value), alias=int(alias))
                topic = psp.Topic(
                    message_type=psp.MessageType.DDATA,
                    group_id=group,
                    edge_node_id=edge,
                    device_id=device,
                )
                payload = psp.DData(now(), seq=node._seq, metrics=(metric,))
                node._client.publish(
                    psp.Message(topic, payload, psp.QoS.AT_MOST_ONCE, False), include_dtypes=False
                )
            elif command == "ndata":
                name, value = args
                datatype = node.metrics[name].datatype
                node.update([psp.Metric(now(), name, datatype, value=parse(datatype, value))])
            elif command == "skip":
                node._seq  # noqa: B018 - uses up one seq number
            elif command == "ddeath":
                node.deregister(args[0])
            elif command == "disconnect":
                node.disconnect()
            elif command == "commands":
                sys.stdout.write(json.dumps(RECEIVED, default=str) + "\n")
            elif command == "die":
                sys.stdout.write("ok\n")
                sys.stdout.flush()
                os._exit(0)
            else:
                raise ValueError(f"unknown command {command!r}")
        except Exception as exc:  # reported to the test
            sys.stdout.write(f"error: {exc!r}\n")
        else:
            sys.stdout.write("ok\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
