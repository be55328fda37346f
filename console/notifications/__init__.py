"""The notification stream, alarms and monitors (no Textual).

* :mod:`console.notifications.model`: categories, severities, :class:`Notification`,
  :func:`classify` (bus event -> notification).
* :mod:`console.notifications.filters`: :class:`NotificationFilter` (type mask, device
  glob, text or regex) and :class:`FilterError`.
* :mod:`console.notifications.center`: :class:`NotificationCenter`, the live stream
  (one bounded ring, listeners, persistence, replay after a restart).
* :mod:`console.notifications.export`: notifications to JSON Lines and CSV files.
"""
