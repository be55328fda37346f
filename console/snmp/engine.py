"""Creating pysnmp engines the one way fleettop does.

Every :class:`pysnmp.entity.engine.SnmpEngine` fleettop makes (the manager's shared
engine, the trap receiver's, the demo agents') comes from :func:`new_engine`, so
none of them pays pysnmp's on-demand MIB compiler (see
:func:`console.snmp.mib.disable_pysnmp_compiler`: 0.5 s of event-loop CPU on each
engine's first request once pysmi is installed).
"""

from __future__ import annotations

import warnings
from typing import Any

from pysnmp.entity.engine import SnmpEngine

from console.snmp.mib import disable_pysnmp_compiler

__all__ = ["new_engine"]


def new_engine(**kwargs: Any) -> Any:
    """Return a new ``SnmpEngine(**kwargs)`` whose MIB builder never compiles MIBs
    on its own (fleettop compiles ``mib_paths`` itself, off the event loop).

    pysnmp's DeprecationWarnings raised while building the engine are silenced.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        engine = SnmpEngine(**kwargs)
    disable_pysnmp_compiler(engine.get_mib_builder())
    return engine
