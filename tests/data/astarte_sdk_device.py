"""The Astarte device SDK for Python (``astarte-device-sdk``) as a peer: its own
``DeviceMqtt`` and encoder produce the bytes a real device sends, through a recording
MQTT client (the SDK cannot pair without an Astarte cluster). Run by
tests/test_astarte_control.py in a virtual environment of its own (the SDK pins an
older paho-mqtt).

Usage: python astarte_sdk_device.py WORKDIR INTERFACE_V1.json INTERFACE_V2.json

Prints one JSON object: each step's publishes, ``[[topic, payload base64, qos], ...]``:

* ``session``: the device connects (introspection with v1, emptyCache, its stored
  properties, the purge list), then sends seven properties of v1;
* ``away``: it unsets ``/p7`` (while fleettop is away: the test does not deliver it);
* ``reconnect``: a new connection: introspection, emptyCache, its six properties and
  a purge list without ``/p7``;
* ``major``: the interface moves to v2 (``remove_interface`` + ``add_interface``),
  sends ``/q1`` and reconnects: introspection with v2, its properties, the purge list.
"""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path

from astarte.device import DeviceMqtt
from astarte.device.device_mqtt import ConnectionState

DEVICE_ID = "2TBn-jNESuuHamE2Zo1anA"


class Recorder:
    """Stands for paho's client: records what the SDK publishes."""

    def __init__(self) -> None:
        self.sent: list[list[object]] = []

    def publish(
        self, topic: str, payload: str | bytes | None = None, qos: int = 0, retain: bool = False
    ) -> None:
        data = payload.encode() if isinstance(payload, str) else bytes(payload or b"")
        self.sent.append([topic, base64.b64encode(data).decode("ascii"), qos])

    def subscribe(self, *args: object, **kwargs: object) -> tuple[int, int]:
        return (0, 1)

    def unsubscribe(self, *args: object, **kwargs: object) -> tuple[int, int]:
        return (0, 1)


def main() -> None:
    work, v1_file, v2_file = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
    v1 = json.loads(Path(v1_file).read_text())
    v2 = json.loads(Path(v2_file).read_text())
    name = v1["interface_name"]
    device = DeviceMqtt(DEVICE_ID, "demo", "secret", "http://localhost:4003", str(work))
    recorder = Recorder()
    device._DeviceMqtt__mqtt_client = recorder
    device.add_interface_from_json(v1)
    connect = device._DeviceMqtt__on_connect

    def step() -> list[list[object]]:
        sent, recorder.sent = recorder.sent, []
        return sent

    out: dict[str, list[list[object]]] = {}
    connect(None, None, {"session present": False}, 0)
    for index in range(1, 8):
        device.send(name, f"/p{index}", index * 10)
    out["session"] = step()
    device.unset_property(name, "/p7")
    out["away"] = step()
    connect(None, None, {"session present": False}, 0)
    out["reconnect"] = step()
    device.remove_interface(name)
    device.add_interface_from_json(v2)
    device.send(name, "/q1", 5)
    device._DeviceMqtt__connection_state = ConnectionState.CONNECTED
    connect(None, None, {"session present": False}, 0)
    out["major"] = step()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
