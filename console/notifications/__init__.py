"""The notification stream, alarms and monitors (no Textual).

* :mod:`console.notifications.model`: categories, severities, :class:`Notification`,
  :func:`classify` (bus event -> notification).
* :mod:`console.notifications.filters`: :class:`NotificationFilter` (type mask, device
  glob, text or regex) and :class:`FilterError`.
* :mod:`console.notifications.center`: :class:`NotificationCenter`, the live stream
  (one bounded ring, listeners, persistence, replay after a restart).
* :mod:`console.notifications.export`: notifications to JSON Lines and CSV files.
* :mod:`console.notifications.storage`: :class:`NotificationLog` and :class:`AlarmLog`,
  the stream and the alarms kept in the property store (its public API only).
* :mod:`console.notifications.alarms`: the alarm record, rules and book (a package).
* :mod:`console.notifications.monitors`: named, batched subscriptions (tabs).
"""
