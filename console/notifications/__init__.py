"""The notification stream, alarms and monitors (no Textual).

* :mod:`console.notifications.model`: categories, severities, :class:`Notification`,
  :func:`classify` (bus event -> notification).
"""
