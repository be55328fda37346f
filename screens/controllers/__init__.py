"""The operator's controllers: what the screens' bindings call to act on devices.

* :mod:`screens.controllers.base`: :class:`Controller` (notifications, read-only
  mode, session ids) and :func:`new_session_id`;
* :mod:`screens.controllers.snmp`: :class:`Operator`, SNMP read, get, write, walk
  and the polling list;
* :mod:`screens.controllers.mqtt`: :class:`MqttOperator`, MQTT publish, set and
  unset.

They are not screens: they push dialogs and run app workers. The two never import
each other; the screens reach both through their
:class:`~screens.base.ScreenContext`.
"""
