"""``fleettop demo --distributed``: the demo as two collectors and a console over an
embedded broker, in one command.

:class:`DistributedDemo` is the console's runtime (a
:class:`~console.collect.remote.RemoteRuntime`) that first starts, in its own event
loop, everything the console then watches through the broker:

1. Debian's ``mosquitto`` on a free loopback port (the fleet's link is MQTT 5; the
   demo's embedded amqtt broker speaks MQTT 3.1.1 only, so it stays the demo
   devices' broker), anonymous, without persistence or log, its configuration in a temporary
   directory removed once it listens; it gets SIGTERM if fleettop dies without
   closing it (``prctl(PR_SET_PDEATHSIG)`` on Linux);
2. the demo fleet (:class:`~console.demo.DemoFleet`: SNMP agents, the amqtt broker
   and its simulated MQTT devices);
3. two collectors, ``east`` (shard 1/2) and ``west`` (shard 2/2) of the demo's
   configuration (:func:`~console.collect.collector.shard_config`), each with its
   own store (``demo-east.db``, ``demo-west.db`` beside the demo's store); the
   demo's traps go to the receiver of the shard that runs it;

then connects as any attached console. Closing it closes them in reverse order.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import dataclasses
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Final

from console.collect.collector import Collector, shard_config
from console.collect.remote import RemoteRuntime
from console.config import BrokerConfig, Config
from console.runtime import Runtime
from console.store.location import default_store_path

__all__ = ["COLLECTORS", "DistributedDemo", "MosquittoMissingError"]

#: The demo's collectors: name and shard.
COLLECTORS: Final = (("east", (1, 2)), ("west", (2, 2)))
#: Seconds the embedded mosquitto has to accept connections.
BROKER_START: Final = 5.0
#: The collectors' keepalive in the demo (a stopped one is STALE within 15 s).
DEMO_KEEPALIVE: Final = 10
_PR_SET_PDEATHSIG: Final = 1


class MosquittoMissingError(RuntimeError):
    """``mosquitto`` is not on PATH: the distributed demo cannot start."""


def _die_with_parent() -> None:
    """In the forked child: ask Linux for SIGTERM when the parent dies
    (``prctl(PR_SET_PDEATHSIG)``, prctl(2)); nothing elsewhere."""
    if sys.platform != "linux":
        return
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class DistributedDemo(RemoteRuntime):
    """The console's runtime of ``fleettop demo --distributed`` (the module doc).

    Args:
        attach: ``False`` starts the broker, the fleet and the collectors but does
            not attach (``fleettop serve --demo``: every browser tab is a console
            process of its own, ``fleettop attach`` on :attr:`url`).

    Attributes:
        collectors_running: the in-process collectors, once started.
    """

    def __init__(self, *, attach: bool = True) -> None:
        super().__init__(
            BrokerConfig(
                name="fleet", host="127.0.0.1", port=_free_port(), keepalive=DEMO_KEEPALIVE
            )
        )
        self.collectors_running: list[Collector] = []
        self._attach = attach
        self._process: subprocess.Popen[bytes] | None = None

    async def start(self) -> None:
        """Start the broker, the demo fleet and the collectors, then attach.

        Raises:
            MosquittoMissingError: no ``mosquitto`` on PATH.
            OSError: the broker did not accept connections in time, or a demo
                socket could not be bound.
            StoreInUseError: a collector's store is open in another process.
        """
        if self.started:
            return
        await self.start_bus()
        await self._start_broker()
        from console.demo import DemoFleet

        demo = DemoFleet(mqtt=True)
        self._on_close("the demo agents", demo.aclose)
        await demo.start()
        config = demo.config
        for name, shard in COLLECTORS:
            runtime = Runtime(self._collector_config(config, name, shard))
            runtime.trap_senders = config.devices  # a trap of any shard's device: its name
            collector = Collector(runtime, self.link.broker, name=name, shard=shard)
            self._on_close(f"collector {name}", collector.aclose)
            await collector.start()
            self.collectors_running.append(collector)
            if runtime.trap_receiver is not None:
                host, port = runtime.trap_receiver.address
                await demo.start_traps((demo.host if host in ("0.0.0.0", "::") else host, port))
        if not self._attach:  # the fleet only: its consoles are other processes
            self._started = True
            return
        await super().start()

    @staticmethod
    def _collector_config(config: Config, name: str, shard: tuple[int, int]) -> Config:
        part = shard_config(config, shard)
        path = default_store_path(demo=True).with_name(f"demo-{name}.db")
        return dataclasses.replace(part, store=dataclasses.replace(part.store, path=path))

    async def _start_broker(self) -> None:
        program = shutil.which("mosquitto")
        if program is None:
            raise MosquittoMissingError(
                "fleettop demo --distributed needs mosquitto on PATH (apt-get install"
                " mosquitto): the fleet's link is MQTT 5, which the demo's embedded broker"
                " does not speak"
            )
        workdir = Path(tempfile.mkdtemp(prefix="fleettop-demo-broker-"))
        conf = workdir / "mosquitto.conf"
        port = self.link.broker.port
        # as root, mosquitto would switch users, which clears the parent-death signal
        root = "user root\n" if os.geteuid() == 0 else ""
        conf.write_text(
            f"{root}listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
            "log_dest none\n"
        )
        # forked from the loop's thread (it lives as long as the process): the broker
        # gets SIGTERM when fleettop dies without closing (a SIGHUP, a kill)
        self._process = subprocess.Popen(  # noqa: ASYNC220 - a fork, not a wait
            [program, "-c", str(conf)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=_die_with_parent,
        )
        self._on_close("the demo broker", lambda: self._stop_broker(workdir))
        deadline = time.monotonic() + BROKER_START
        while True:
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                if self._process.poll() is not None or time.monotonic() > deadline:
                    raise OSError(
                        f"the demo broker (mosquitto) does not listen on 127.0.0.1:{port}"
                    ) from None
                await asyncio.sleep(0.05)
            else:
                writer.close()
                with contextlib.suppress(OSError):
                    await writer.wait_closed()
                shutil.rmtree(workdir, ignore_errors=True)  # it has read its configuration
                return

    async def _stop_broker(self, workdir: Path) -> None:
        process = self._process
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                await asyncio.to_thread(process.wait, 5)
            except subprocess.TimeoutExpired:
                process.kill()
                await asyncio.to_thread(process.wait, 5)
        shutil.rmtree(workdir, ignore_errors=True)
