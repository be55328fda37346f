"""The app's top-level navigation keys and the help screen's sections.

Kept apart from :mod:`console.app` so that the app module stays small: the
:data:`NAVIGATION` bindings are part of :class:`~console.app.FleettopApp`'s
``BINDINGS`` (their ids are declared in :mod:`console.keys`), and
:func:`help_sections` lists the bindings of every part of the UI (imported only when
the help screen, or ``ui.keymap``'s check, needs them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.binding import Binding

if TYPE_CHECKING:
    from textual.app import App

    from screens.help import HelpSection

__all__ = ["NAVIGATION", "help_sections"]

#: Top-level navigation, from every screen (not from dialogs).
NAVIGATION: list[Binding] = [
    Binding(
        "P",
        "open_properties",
        "Properties",
        id="nav.properties",
        tooltip="Browse the property store and the audit log",
    ),
    Binding(
        "N",
        "open_notifications",
        "Notifications",
        id="nav.notifications",
        tooltip="The stream of traps, messages and changes, the alarms and the monitors",
    ),
    Binding(
        "T",
        "open_topics",
        "Topics",
        id="nav.topics",
        show=False,  # in the help and the palette; the footer keeps its room
        tooltip="Every MQTT topic seen, as a tree (from an MQTT value: its topic)",
    ),
    Binding(
        "M",
        "open_mibs",
        "MIBs",
        id="nav.mibs",
        show=False,
        tooltip="Browse the MIB modules: search, SYNTAX, DESCRIPTION; get, walk, table, poll",
    ),
    Binding(
        "D",
        "open_devices",
        "Devices",
        id="nav.devices",
        show=False,
        tooltip="Back to the Devices screen",
    ),
]


def help_sections(app_class: type[App[None]]) -> list[HelpSection]:
    """The bindings of every part of the UI, for the help screen.

    Args:
        app_class: the app (:class:`~console.app.FleettopApp`), whose own bindings
            make the "Global" section with Textual's ``App``'s.
    """
    from textual.app import App
    from textual.widgets import DataTable

    from screens.confirm import ConfirmScreen
    from screens.devices import DevicesScreen
    from screens.export import ExportScreen
    from screens.get import OidPromptScreen
    from screens.help import HelpScreen, HelpSection
    from screens.mibs import MibBrowserScreen
    from screens.notifications import NotificationsScreen
    from screens.oids import OidsScreen
    from screens.properties import PropertiesScreen
    from screens.snmp_chart import SnmpChartScreen
    from screens.table import TableScreen
    from screens.topic_plot import TopicPlotScreen
    from screens.topics import TopicsScreen
    from screens.walk import WalkScreen
    from screens.write import WriteScreen
    from widgets.device_table import DeviceTable
    from widgets.mib_tree import MibTreeView
    from widgets.notification_list import NotificationList
    from widgets.property_tree import PropertyTree
    from widgets.topic_tree import TopicTreeView
    from widgets.value_table import ValueTable

    return [
        HelpSection.of("Global", app_class, App),
        HelpSection.of("Devices", DevicesScreen, DeviceTable),
        HelpSection.of("OIDs", OidsScreen, ValueTable, SnmpChartScreen),
        HelpSection.of("Walk", WalkScreen),
        HelpSection.of("Table", TableScreen),
        HelpSection.of("MIBs", MibBrowserScreen, MibTreeView),
        HelpSection.of("Properties", PropertiesScreen, PropertyTree),
        HelpSection.of("Notifications", NotificationsScreen, NotificationList),
        HelpSection.of("Topics", TopicsScreen, TopicTreeView, TopicPlotScreen),
        HelpSection.of("Dialogs", ConfirmScreen, WriteScreen, OidPromptScreen, ExportScreen),
        HelpSection.of("Tables", DataTable),
        HelpSection.of("Help", HelpScreen),
    ]
