"""paho-mqtt's client module (``paho.mqtt.client``), imported without dnspython.

paho imports ``dns.resolver`` whenever dnspython is installed (pymongo, which
fleettop uses for BSON, installs it), only for ``Client.connect_srv``: DNS SRV
discovery of a broker, which fleettop never does (brokers are configured by host
and port). That import is ~60 ms of the console's start (``dns.rcode``,
``dns.message``...). While paho's module runs, ``dns.resolver`` is marked absent
(``sys.modules[name] = None``: the import system's documented way to make an import
fail, "The import system", Python reference §5.3.1), so paho takes its own
no-dnspython branch; the mark is removed afterwards and other code can still import
dnspython. When ``dns.resolver`` is already imported, paho gets it as usual.

Import the client as ``from console.mqtt.pahoclient import paho``.
"""

from __future__ import annotations

import sys

__all__ = ["paho"]

_absent = "dns.resolver" not in sys.modules
if _absent:
    sys.modules["dns.resolver"] = None  # type: ignore[assignment]
try:
    import paho.mqtt.client as paho
finally:
    if _absent and "dns.resolver" in sys.modules and sys.modules["dns.resolver"] is None:
        del sys.modules["dns.resolver"]
