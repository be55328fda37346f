"""Collectors and consoles over an MQTT broker (``docs/distributed.md``).

* :mod:`console.collect.namespace`: the public topic namespace ``fleettop/v1`` (pure).
* :mod:`console.collect.link`: one MQTT 5 connection (paho), requests and replies.
* :mod:`console.collect.collector`: ``fleettop collect``, a runtime whose bus is
  published to the broker, answering the operators' requests.
* :mod:`console.collect.remote`: ``fleettop attach``, a runtime with no backends
  whose bus is fed from the broker.
* :mod:`console.collect.commands`: the two subcommands of ``fleettop``.
"""
