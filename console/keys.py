"""The key binding ids of the terminal UI, declared where the core can read them.

``ui.keymap`` in the configuration remaps bindings by id (Textual's
``App.set_keymap``). The bindings themselves live in the UI (``console/app.py``,
``screens/``, ``widgets/``), which the core must not import, so the ids are declared
here, each with what its binding does: :mod:`console.config.checks` reports a keymap
id that is not one of them (with a "did you mean"), and ``tests/test_keys.py`` collects
every ``Binding`` id of the app, its screens and its widgets and asserts the two sets
are equal, so they cannot drift apart. Add a binding with an ``id``: add it here.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

__all__ = ["BINDINGS"]

#: Binding id -> what the binding does.
BINDINGS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "app.command_line": "A k9s-style : command line (:devices, :topics, :walk OID, :q)",
        "app.commands": "Open the command palette",
        "app.help": "Show every key",
        "app.quit": "Close the devices and quit",
        "command.cancel": "Close the : command line",
        "command.complete": "Take the command line's suggestion",
        "devices.all_oids": "Values of every device",
        "devices.open": "Show its values",
        "dialog.cancel": "Do nothing",
        "dialog.confirm": "Do it",
        "mqtt.publish": "Publish an MQTT message",
        "mqtt.set": "Set a server-owned Astarte property",
        "mqtt.unset": "Unset the selected Astarte property",
        "nav.devices": "Back to the Devices screen",
        "nav.notifications": "Traps, messages and changes, the alarms and the monitors",
        "nav.properties": "Browse the property store and the audit log",
        "nav.topics": "Every MQTT topic seen, as a tree",
        "notifications.ack": "Acknowledge the selected alarm",
        "notifications.ack_all": "Acknowledge every alarm shown",
        "notifications.copy": "Copy the selected entry's detail to the clipboard",
        "notifications.device": "Filter by device: a name or a glob (sw*)",
        "notifications.export": "Export what the filter shows to JSON Lines or CSV",
        "notifications.filter": "Filter by text: plain text, or /regex/",
        "notifications.list.down": "Next",
        "notifications.list.first": "The oldest entry",
        "notifications.list.last": "The newest entry",
        "notifications.list.page_down": "A page down",
        "notifications.list.page_up": "A page up",
        "notifications.list.up": "Previous",
        "notifications.mask.alarm": "Show or hide the alarm notifications",
        "notifications.mask.audit": "Show or hide the audit notifications",
        "notifications.mask.event": "Show or hide the event notifications",
        "notifications.mask.log": "Show or hide the log notifications",
        "notifications.mask.message": "Show or hide the message notifications",
        "notifications.mask.property": "Show or hide the property notifications",
        "notifications.mask.read": "Show or hide the read notifications",
        "notifications.mask.status": "Show or hide the status notifications",
        "notifications.mask.trap": "Show or hide the trap notifications",
        "notifications.mask.write": "Show or hide the write notifications",
        "notifications.monitor_enable": "Re-enable the monitor's delivery, or retry it now",
        "notifications.older": "Load older entries from the store",
        "notifications.pause": "Pause the list (a badge counts what arrives), or follow again",
        "notifications.tab": "Show the next tab (stream, alarms, monitors)",
        "properties.delete": "Delete the selected entry from the store (audited)",
        "properties.export": "Export the filtered properties, or the audit log (JSONL or CSV)",
        "properties.filter": "Filter the paths (substring, or MQTT + and # wildcards)",
        "properties.refresh": "Read the selected property again from its device",
        "properties.reload": "Load the tree again from the store (new devices and paths)",
        "properties.set": "Set the selected property",
        "properties.tab": "Switch between the Properties and Audit tabs",
        "properties.unset": "Unset the selected property (MQTT, allow_unset)",
        "screen.back": "Close the screen or dialog and go back",
        "snmp.get": "GET any OID or MIB name",
        "snmp.interfaces": "The device's interfaces",
        "snmp.poll_add": "Poll the selected OID",
        "snmp.poll_remove": "Stop polling the selected OID",
        "snmp.chart": "The selected SNMP value (a counter: its rate) as a chart over time",
        "snmp.chart.window": "The chart's next window length (1 min, 5 min, 15 min, 1 h, all)",
        "snmp.read": "GET the selected OID now",
        "snmp.table": "The selected OID's table as a grid",
        "snmp.walk": "Walk the selected table or group",
        "snmp.write": "SET the selected OID",
        "table.hide": "Hide the sort column (no longer read)",
        "table.refresh": "Read the table now",
        "table.reverse": "Reverse the sort order",
        "table.show_all": "Show every column",
        "table.sort_left": "Sort by the column to the left",
        "table.sort_right": "Sort by the column to the right",
        "table.totals": "Show counters as totals or as per-second rates",
        "topics.clear_retained": "Clear the retained message(s) of the topic or level",
        "topics.device": "The values of the topic's device",
        "topics.filter": "Filter the topics: text, or an MQTT filter with + and #",
        "topics.newer": "The topic's next message",
        "topics.older": "The topic's previous message (and its diff)",
        "topics.plot": "The topic's numeric values as a chart over time",
        "topics.plot.window": "The chart's next window length (1 min, 5 min, 15 min, 1 h, all)",
        "topics.stored": "Load the topic's older messages from the store",
        "topics.tree.collapse": "Close a level (or go to its parent)",
        "topics.tree.down": "Next",
        "topics.tree.expand": "Open a level",
        "topics.tree.first": "The top",
        "topics.tree.last": "The bottom",
        "topics.tree.page_down": "Page down",
        "topics.tree.page_up": "Page up",
        "topics.tree.toggle": "Open or close the level",
        "topics.tree.up": "Previous",
        "walk.filter": "Filter the rows: an OID or MIB name (its subtree), or text",
        "walk.list.down": "Next row",
        "walk.list.first": "First row",
        "walk.list.last": "Last row",
        "walk.list.page_down": "A page down",
        "walk.list.page_up": "A page up",
        "walk.list.up": "Previous row",
        "walk.root": "Walk another subtree",
    }
)
