"""fleettop's core: the bus, the SNMP and MQTT backends, the store, the configuration
and the CLI (the README's architecture map lists the modules).

Importing the package installs one import hook (:mod:`console.importhooks`): pysnmp
is loaded without its pysmi-backed MIB compiler, which fleettop never runs.
"""

from console.importhooks import install as _install_import_hooks

_install_import_hooks()
