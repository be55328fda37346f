"""Home Assistant MQTT discovery: retained ``config`` messages announce entities whose
state topic and ``value_template`` become values of a device (``docs/payloads.md``).

The discovery topics, as Home Assistant reads them (its MQTT integration,
``discovery.py``; the prefix is ``homeassistant`` by default):

* ``PREFIX/COMPONENT/[NODE_ID/]OBJECT_ID/config``: one entity (``sensor``,
  ``binary_sensor``, ``switch``...);
* ``PREFIX/device/OBJECT_ID/config``: device discovery, several entities in
  ``components`` (``cmps``) sharing the top level's ``device``, ``origin``,
  ``availability``, ``state_topic``, ``qos``... options; a component with only its
  ``platform`` (``p``) is removed.

The payload is a JSON object, abbreviated keys expanded (``stat_t`` ->
``state_topic``, ``dev`` -> ``device`` with ``ids`` -> ``identifiers``...: the
abbreviations of Home Assistant's ``abbreviations.py`` that matter here) and ``~``
at the start or end of a ``*_topic`` value replaced by the ``~`` entry (the base
topic). An **empty** payload removes the entity (or every entity of a device
discovery topic).

What fleettop takes of an entity (:class:`Entity`):

* its device: ``device.name``, else its first ``device.identifiers``, else the
  ``unique_id``, else ``NODE_ID`` or ``OBJECT_ID`` (entities of one device are one
  fleettop device);
* its value: each message on ``state_topic`` goes through ``value_template``
  (:class:`ValueTemplate`). A template that is a path into ``value_json``
  (``{{ value_json.ENERGY.Power }}``, ``{{ value_json['temp'] }}``,
  ``{{ value_json.readings[0] }}``) reads that JSON Pointer (RFC 6901,
  ``/ENERGY/Power``) of the payload, typed as JSON; ``{{ value }}`` or no template is
  the payload text. Any other template is rendered by Jinja2 in an immutable sandbox
  with ``value`` and ``value_json`` (Jinja2's own filters; Home Assistant's
  extensions such as ``as_timestamp`` or ``is_defined`` are reported as not
  supported, never guessed);
* ``unit_of_measurement``;
* ``expire_after``: without availability, the device is OFFLINE when no state
  arrived for that long (its freshness timeout, the shortest of its entities');
* ``availability_topic`` / ``availability`` (a list of ``topic``,
  ``payload_available`` ``online``, ``payload_not_available`` ``offline``,
  ``value_template``) with ``availability_mode`` ``latest`` (default), ``any`` or
  ``all`` as the device's status.

:class:`Discovery` keeps the entities of one broker and answers what a message
means: :meth:`Discovery.config`, :meth:`Discovery.state`,
:meth:`Discovery.availability`. Everything is plain data; nothing here touches the
bus or the network.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from console.events import JsonValue
from console.mqtt.fields import escape, resolve

__all__ = [
    "ABBREVIATIONS",
    "Availability",
    "ConfigOutcome",
    "Discovery",
    "DiscoveryError",
    "Entity",
    "ValueTemplate",
    "parse_discovery_topic",
]

#: Home Assistant's abbreviations of discovery keys (``abbreviations.py``), those of
#: the options fleettop reads or passes on.
ABBREVIATIONS: Final[Mapping[str, str]] = {
    "avty": "availability",
    "avty_mode": "availability_mode",
    "avty_t": "availability_topic",
    "avty_tpl": "availability_template",
    "cmd_t": "command_topic",
    "cmd_tpl": "command_template",
    "cmps": "components",
    "dev": "device",
    "dev_cla": "device_class",
    "def_ent_id": "default_entity_id",
    "e": "encoding",
    "en": "enabled_by_default",
    "ent_cat": "entity_category",
    "exp_aft": "expire_after",
    "frc_upd": "force_update",
    "ic": "icon",
    "json_attr_t": "json_attributes_topic",
    "json_attr_tpl": "json_attributes_template",
    "o": "origin",
    "obj_id": "object_id",
    "p": "platform",
    "pl_avail": "payload_available",
    "pl_not_avail": "payload_not_available",
    "pl_off": "payload_off",
    "pl_on": "payload_on",
    "ret": "retain",
    "stat_cla": "state_class",
    "stat_off": "state_off",
    "stat_on": "state_on",
    "stat_t": "state_topic",
    "stat_tpl": "state_template",
    "stat_val_tpl": "state_value_template",
    "sug_dsp_prc": "suggested_display_precision",
    "t": "topic",
    "uniq_id": "unique_id",
    "unit_of_meas": "unit_of_measurement",
    "val_tpl": "value_template",
}
#: Abbreviations inside ``device`` (``DEVICE_ABBREVIATIONS``).
DEVICE_ABBREVIATIONS: Final[Mapping[str, str]] = {
    "cns": "connections",
    "cu": "configuration_url",
    "hw": "hw_version",
    "ids": "identifiers",
    "mdl": "model",
    "mdl_id": "model_id",
    "mf": "manufacturer",
    "sa": "suggested_area",
    "sn": "serial_number",
    "sw": "sw_version",
}
#: Options of a device discovery payload that every component inherits (Home
#: Assistant's ``SHARED_OPTIONS``).
SHARED_OPTIONS: Final[tuple[str, ...]] = (
    "availability",
    "availability_mode",
    "availability_template",
    "availability_topic",
    "command_topic",
    "device",
    "encoding",
    "origin",
    "payload_available",
    "payload_not_available",
    "qos",
    "state_topic",
)
_ID: Final = r"[a-zA-Z0-9_-]+"
_TOPIC: Final = re.compile(
    rf"(?P<component>\w+)/(?:(?P<node_id>{_ID})/)?(?P<object_id>{_ID})/config"
)
#: Longest template source read (characters).
MAX_TEMPLATE: Final = 4096
#: Longest state payload given to a template, and longest config read (bytes).
MAX_STATE_BYTES: Final = 256 * 1024


class DiscoveryError(ValueError):
    """A discovery payload or template fleettop cannot use; the message says why."""


def parse_discovery_topic(prefix: str, topic: str) -> tuple[str, str | None, str] | None:
    """``(component, node_id, object_id)`` of a discovery topic
    ``PREFIX/COMPONENT/[NODE_ID/]OBJECT_ID/config``, or ``None`` for any other
    topic (Home Assistant's topic pattern; ``component`` ``device`` is device
    discovery)."""
    if not topic.startswith(prefix + "/") or not topic.endswith("/config"):
        return None
    found = _TOPIC.fullmatch(topic[len(prefix) + 1 :])
    if found is None:
        return None
    return found["component"], found["node_id"], found["object_id"]


# -- templates ---------------------------------------------------------------------

_ENVIRONMENT: Any = None


#: Longest string or list a template may build with ``*``, and the largest exponent.
MAX_PRODUCT: Final = 65536
MAX_EXPONENT: Final = 64


def _environment() -> Any:
    """The immutable sandboxed Jinja2 environment (created once; undefined names
    and attributes are errors, as a strict Home Assistant template would report).
    ``*`` and ``**`` are checked when rendered (a discovery config must not make
    fleettop build a gigabyte string or a huge power): at most
    :data:`MAX_PRODUCT` items, exponents up to :data:`MAX_EXPONENT`."""
    global _ENVIRONMENT
    if _ENVIRONMENT is None:
        from jinja2 import StrictUndefined
        from jinja2.exceptions import SecurityError
        from jinja2.sandbox import ImmutableSandboxedEnvironment

        class Sandbox(ImmutableSandboxedEnvironment):
            intercepted_binops = frozenset({"*", "**"})

            def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
                number = isinstance(right, int | float)
                if operator == "**" and number and abs(right) > MAX_EXPONENT:
                    raise SecurityError(f"an exponent above {MAX_EXPONENT}")
                if operator == "*":
                    for seq, n in ((left, right), (right, left)):
                        sized = isinstance(seq, str | list | tuple) and isinstance(n, int)
                        if sized and len(seq) * n > MAX_PRODUCT:
                            raise SecurityError(f"a product longer than {MAX_PRODUCT}")
                return super().call_binop(context, operator, left, right)

        _ENVIRONMENT = Sandbox(undefined=StrictUndefined, autoescape=False)
    return _ENVIRONMENT


def _path_of(node: Any) -> list[str | int] | None:
    """The keys of ``value_json.a['b'][0]`` (a chain of attribute and constant item
    lookups on ``value_json``), ``[]`` for ``value_json`` itself, else ``None``."""
    from jinja2 import nodes

    keys: list[str | int] = []
    while True:
        if isinstance(node, nodes.Getattr):
            keys.append(node.attr)
            node = node.node
        elif isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
            arg = node.arg.value
            if not isinstance(arg, str | int) or isinstance(arg, bool):
                return None
            keys.append(arg)
            node = node.node
        elif isinstance(node, nodes.Name) and node.name == "value_json":
            return keys[::-1]
        else:
            return None


def _output(template: Any) -> Any | None:
    """The one expression of a template that is ``{{ EXPRESSION }}`` (blanks around
    it allowed), else ``None``."""
    from jinja2 import nodes

    if len(template.body) != 1 or not isinstance(template.body[0], nodes.Output):
        return None
    parts = [
        n
        for n in template.body[0].nodes
        if not (isinstance(n, nodes.TemplateData) and not n.data.strip())
    ]
    return parts[0] if len(parts) == 1 else None


def _typed(text: str) -> JsonValue:
    """A rendered template's text as Home Assistant's sensors take it: a JSON
    number or boolean when it is one, else the text."""
    stripped = text.strip()
    if stripped in ("true", "false") or re.fullmatch(r"-?\d+(\.\d+)?([eE][+-]?\d+)?", stripped):
        value: JsonValue = json.loads(stripped)
        if not (isinstance(value, float) and not math.isfinite(value)):  # 1e999
            return value
    return text


@dataclass(frozen=True, slots=True)
class ValueTemplate:
    """A ``value_template`` (or an availability's), read once.

    Attributes:
        source: the template text (``""``: no template, the payload text).
        pointer: the JSON Pointer (RFC 6901) the template reads when it is a path
            into ``value_json`` (``{{ value_json.ENERGY.Power }}`` -> ``/ENERGY/Power``),
            ``""`` for ``{{ value_json }}``; ``None`` otherwise.
        raw: the value is the payload text (no template, or ``{{ value }}``).
        compiled: the Jinja2 template of any other shape, rendered in the sandbox.

    Raises (:meth:`parse`):
        DiscoveryError: the template is longer than :data:`MAX_TEMPLATE`, does not
            parse, or uses a filter or test Jinja2 does not have (a Home Assistant
            extension: named in the message).
    """

    source: str
    pointer: str | None = None
    raw: bool = False
    compiled: Any = field(default=None, compare=False)

    @classmethod
    def parse(cls, source: object) -> ValueTemplate:
        """The template of a discovery option (``None`` or ``""``: the payload text)."""
        if source is None or source == "":
            return cls("", raw=True)
        if not isinstance(source, str):
            raise DiscoveryError(f"a template is text, got {type(source).__name__}")
        if len(source) > MAX_TEMPLATE:
            raise DiscoveryError(f"the template is longer than {MAX_TEMPLATE} characters")
        from jinja2 import TemplateError, nodes

        env = _environment()
        try:
            tree = env.parse(source)
            expression = _output(tree)
            if expression is not None:
                if isinstance(expression, nodes.Name) and expression.name == "value":
                    return cls(source, raw=True)
                keys = _path_of(expression)
                if keys is not None:
                    pointer = "".join("/" + escape(str(k)) for k in keys)
                    return cls(source, pointer=pointer)
            from jinja2 import meta

            if any(tree.find_all((nodes.For, nodes.Macro, nodes.CallBlock))):
                raise DiscoveryError(
                    f"template {source!r} is not supported: loops and macros are not "
                    "(fleettop renders each state message as it arrives)"
                )
            unknown = sorted(
                meta.find_undeclared_variables(tree) - {"value", "value_json"} - set(env.globals)
            )
            if unknown:
                raise DiscoveryError(
                    f"template {source!r} is not supported: it uses {', '.join(unknown)}, "
                    "a Home Assistant extension fleettop does not have (fleettop renders "
                    "Jinja2 with value and value_json only)"
                )
            compiled = env.from_string(source)
        except TemplateError as exc:
            raise DiscoveryError(
                f"template {source!r} is not supported: {exc.message or exc}"
                + (
                    " (a Home Assistant extension fleettop does not have)"
                    if "No filter named" in str(exc) or "No test named" in str(exc)
                    else ""
                )
            ) from None
        return cls(source, compiled=compiled)

    def render(self, payload: bytes) -> JsonValue:
        """The value of one state message.

        Raises:
            DiscoveryError: a path the payload does not have (``KeyError``-like), a
                payload that is not JSON for a template reading ``value_json``, or the
                template's own error when rendered.
        """
        text = payload[:MAX_STATE_BYTES].decode("utf-8", "replace")
        if self.raw:
            return _typed(text)
        try:
            document = json.loads(text)
        except (ValueError, RecursionError):
            document = None
        if self.pointer is not None:
            if document is None:
                raise DiscoveryError("the payload is not JSON (the template reads value_json)")
            try:
                return resolve(document, self.pointer)
            except LookupError:
                raise DiscoveryError(f"the payload has no {self.pointer}") from None
        from jinja2 import TemplateError

        try:
            if document is None:
                rendered = self.compiled.render(value=text)
            else:
                rendered = self.compiled.render(value=text, value_json=document)
        except TemplateError as exc:
            raise DiscoveryError(f"template {self.source!r}: {exc.message or exc}") from None
        except Exception as exc:  # whatever a template does wrong stays a message
            raise DiscoveryError(f"template {self.source!r}: {exc!r}") from None
        return _typed(str(rendered))


# -- entities ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Availability:
    """One availability topic of an entity: its payloads (text) and template."""

    topic: str
    available: str = "online"
    not_available: str = "offline"
    template: ValueTemplate = field(default_factory=lambda: ValueTemplate("", raw=True))

    def status(self, payload: bytes) -> bool | None:
        """``True`` available, ``False`` not, ``None`` neither payload (ignored, as
        Home Assistant does)."""
        try:
            text = (
                payload.decode("utf-8", "replace")
                if self.template.raw
                else str(self.template.render(payload))
            )
        except DiscoveryError:
            return None
        if text == self.available:
            return True
        if text == self.not_available:
            return False
        return None


@dataclass(frozen=True, slots=True)
class Entity:
    """One discovered entity.

    Attributes:
        topic: its discovery topic; ``key``: ``(topic, object_id)`` (a device
            discovery topic holds several).
        component: ``sensor``, ``binary_sensor``... (the platform of a device
            discovery component).
        object_id: the topic's object id (a device discovery component's key).
        node_id: the topic's node id, or ``None``.
        device: the fleettop device it belongs to (see the module docstring).
        unique_id, name: as configured (``None`` when not).
        state_topic: where its state arrives, or ``None`` (an entity without one,
            a button, has no value).
        template: its ``value_template``.
        value_key: the last segment of its value's field event: ``template.pointer``
            when the template is a path, ``""`` for the payload text, ``@OBJECT_ID``
            for a rendered template.
        unit: ``unit_of_measurement``, or ``None``.
        availability: its availability topics; ``availability_mode``: ``latest``,
            ``any`` or ``all``.
        label: how fleettop names it: ``name``, else the config's ``object_id``,
            else the topic's.
        expire_after: ``expire_after`` seconds (a state older than that makes Home
            Assistant show the entity unavailable), or ``None``.
    """

    topic: str
    component: str
    object_id: str
    node_id: str | None
    device: str
    unique_id: str | None
    name: str | None
    state_topic: str | None
    template: ValueTemplate
    unit: str | None
    availability: tuple[Availability, ...]
    availability_mode: str
    label: str = ""
    expire_after: float | None = None

    @property
    def key(self) -> tuple[str, str]:
        """``(discovery topic, object_id)``."""
        return self.topic, self.object_id

    @property
    def value_key(self) -> str:
        """See the class docstring."""
        if self.template.pointer is not None:
            return self.template.pointer
        if self.template.raw:
            return ""
        return "@" + self.object_id

    def describe(self) -> dict[str, JsonValue]:
        """The entity as the payload of its ``("mqtt", DEVICE, "entity", COMPONENT,
        OBJECT_ID)`` event (``docs/events.md``)."""
        return {
            "topic": self.topic,
            "component": self.component,
            "object_id": self.object_id,
            "node_id": self.node_id,
            "unique_id": self.unique_id,
            "name": self.name,
            "label": self.label,
            "state_topic": self.state_topic,
            "value_template": self.template.source or None,
            "value_key": self.value_key if self.state_topic else None,
            "unit": self.unit,
            "availability": [a.topic for a in self.availability],
            "availability_mode": self.availability_mode,
            "expire_after": self.expire_after,
            "removed": False,
        }


def _expand(payload: dict[str, Any]) -> dict[str, Any]:
    """Abbreviations expanded and ``~`` replaced, as Home Assistant does."""
    out = {ABBREVIATIONS.get(key, key): value for key, value in payload.items()}
    device = out.get("device")
    if isinstance(device, dict):
        out["device"] = {DEVICE_ABBREVIATIONS.get(k, k): v for k, v in device.items()}
    availability = out.get("availability")
    if isinstance(availability, list):
        out["availability"] = [
            {ABBREVIATIONS.get(k, k): v for k, v in item.items()}
            if isinstance(item, dict)
            else item
            for item in availability
        ]
    base = out.pop("~", None)
    if isinstance(base, str):

        def based(value: str) -> str:
            if value.startswith("~"):
                value = base + value[1:]
            if value.endswith("~"):
                value = value[:-1] + base
            return value

        for key, value in list(out.items()):
            if key.endswith("topic") and isinstance(value, str) and value:
                out[key] = based(value)
        for item in out.get("availability") or ():
            if isinstance(item, dict) and isinstance(item.get("topic"), str) and item["topic"]:
                item["topic"] = based(item["topic"])
    return out


def _text(config: Mapping[str, Any], key: str) -> str | None:
    value = config.get(key)
    if value is None:
        return None
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise DiscoveryError(f"{key} must be text, got {type(value).__name__}")
    return str(value)


def _seconds(config: Mapping[str, Any], key: str) -> float | None:
    value = config.get(key)
    if value is None or value == 0:
        return None
    if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
        raise DiscoveryError(f"{key} must be a number of seconds, got {value!r}")
    return float(value)


def _topic(config: Mapping[str, Any], key: str) -> str | None:
    from console.topics import validate_topic

    value = _text(config, key)
    if value is None:
        return None
    try:
        validate_topic(value)
    except ValueError as exc:
        raise DiscoveryError(f"{key} {value!r}: {exc}") from None
    return value


def _device_name(config: Mapping[str, Any], node_id: str | None, object_id: str) -> str:
    device = config.get("device")
    if isinstance(device, dict):
        name = device.get("name")
        if isinstance(name, str) and name.strip():
            return name.strip()
        ids = device.get("identifiers")
        if isinstance(ids, str) and ids:
            return ids
        if isinstance(ids, list) and ids and isinstance(ids[0], str) and ids[0]:
            return ids[0]
    unique = config.get("unique_id")
    if isinstance(unique, str) and unique:
        return unique
    return node_id or object_id


def _availability(config: Mapping[str, Any]) -> tuple[Availability, ...]:
    available = _text(config, "payload_available") or "online"
    not_available = _text(config, "payload_not_available") or "offline"
    found: list[Availability] = []
    topic = _topic(config, "availability_topic")
    if topic is not None:
        template = ValueTemplate.parse(config.get("availability_template"))
        found.append(Availability(topic, available, not_available, template))
    listed = config.get("availability")
    if listed is not None and not isinstance(listed, list):
        raise DiscoveryError("availability must be a list of {topic, payload_available, ...}")
    for item in listed or ():
        if not isinstance(item, dict) or not isinstance(item.get("topic"), str):
            raise DiscoveryError("each availability entry needs a topic")
        found.append(
            Availability(
                str(_topic(item, "topic")),
                _text(item, "payload_available") or "online",
                _text(item, "payload_not_available") or "offline",
                ValueTemplate.parse(item.get("value_template")),
            )
        )
    return tuple(found)


def _entity(
    topic: str, component: str, node_id: str | None, object_id: str, config: Mapping[str, Any]
) -> Entity:
    mode = _text(config, "availability_mode") or "latest"
    if mode not in ("latest", "any", "all"):
        raise DiscoveryError(f"availability_mode must be latest, any or all, got {mode!r}")
    state_topic = _topic(config, "state_topic")
    return Entity(
        topic=topic,
        component=component,
        object_id=object_id,
        node_id=node_id,
        device=_device_name(config, node_id, object_id),
        unique_id=_text(config, "unique_id"),
        name=_text(config, "name"),
        state_topic=state_topic,
        template=ValueTemplate.parse(config.get("value_template") if state_topic else None),
        unit=_text(config, "unit_of_measurement"),
        availability=_availability(config),
        availability_mode=mode,
        label=_text(config, "name") or _text(config, "object_id") or object_id,
        expire_after=_seconds(config, "expire_after"),
    )


@dataclass(slots=True)
class ConfigOutcome:
    """What one discovery message changed.

    Attributes:
        added: entities announced (new, or announced again: their settings may have
            changed).
        removed: entities that went (an empty payload, a component left with only
            its platform, or announced again under another device or value).
        errors: ``(object_id, message)`` of what could not be read (the entity, if
            it existed, is kept as it was).
    """

    added: list[Entity] = field(default_factory=list)
    removed: list[Entity] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)


class Discovery:
    """The discovered entities of one broker (see the module docstring).

    Args:
        prefix: the discovery prefix (``homeassistant``).
        limit: most entities kept (a config beyond it is an error).
    """

    def __init__(self, prefix: str = "homeassistant", limit: int = 10_000) -> None:
        self.prefix = prefix
        self.limit = limit
        self.entities: dict[tuple[str, str], Entity] = {}
        self._by_state: dict[str, list[Entity]] = {}
        self._by_availability: dict[str, list[Entity]] = {}
        self._last: dict[tuple[str, str], bool] = {}
        """``(device, availability topic)`` -> its last known availability."""

    def watches(self, topic: str) -> bool:
        """Whether ``topic`` is some entity's state or availability topic."""
        return topic in self._by_state or topic in self._by_availability

    def topics(self) -> list[str]:
        """Every state and availability topic of the entities (to subscribe to)."""
        return [*self._by_state, *self._by_availability]

    def config(self, topic: str, payload: bytes) -> ConfigOutcome | None:
        """A message on a discovery topic: the entities it announces or removes;
        ``None`` when ``topic`` is not a discovery topic.

        A payload that is not a JSON object, or an option fleettop cannot read (a
        template it does not support, a topic with wildcards, a bad
        ``availability_mode``), is an error of the outcome, never an exception.
        """
        parsed = parse_discovery_topic(self.prefix, topic)
        if parsed is None:
            return None
        component, node_id, object_id = parsed
        outcome = ConfigOutcome()
        if not payload:
            for key in [k for k in self.entities if k[0] == topic]:
                outcome.removed.append(self._remove(key))
            return outcome
        if len(payload) > MAX_STATE_BYTES:
            too_long = f"{topic}: the config is over {MAX_STATE_BYTES:,} bytes"
            outcome.errors.append((object_id, too_long))
            return outcome
        try:
            document = json.loads(payload)
        except (ValueError, RecursionError) as exc:
            outcome.errors.append((object_id, f"{topic}: the config is not JSON: {exc}"))
            return outcome
        if not isinstance(document, dict):
            outcome.errors.append((object_id, f"{topic}: the config is not a JSON object"))
            return outcome
        config = _expand(document)
        if component != "device":
            self._announce(topic, component, node_id, object_id, config, outcome)
            return outcome
        components = config.get("components")
        if not isinstance(components, dict):
            outcome.errors.append((object_id, f"{topic}: device discovery needs components"))
            return outcome
        shared: dict[str, Any] = {k: config[k] for k in SHARED_OPTIONS if k in config}
        for key in [k for k in self.entities if k[0] == topic and k[1] not in components]:
            outcome.removed.append(self._remove(key))
        for name, item in components.items():
            if not isinstance(item, dict):
                outcome.errors.append((str(name), f"{topic}: component {name} is not an object"))
                continue
            merged: dict[str, Any] = {**shared, **_expand(item)}
            platform = merged.get("platform")
            if not isinstance(platform, str):
                outcome.errors.append((str(name), f"{topic}: component {name} has no platform"))
                continue
            if set(item) <= {"p", "platform"}:
                if (topic, str(name)) in self.entities:
                    outcome.removed.append(self._remove((topic, str(name))))
                continue
            self._announce(topic, platform, node_id, str(name), merged, outcome)
        return outcome

    def _announce(
        self,
        topic: str,
        component: str,
        node_id: str | None,
        object_id: str,
        config: Mapping[str, Any],
        outcome: ConfigOutcome,
    ) -> None:
        try:
            entity = _entity(topic, component, node_id, object_id, config)
        except DiscoveryError as exc:
            outcome.errors.append((object_id, f"{topic}: {exc}"))
            return
        old = self.entities.get(entity.key)
        if old is None and len(self.entities) >= self.limit:
            outcome.errors.append((object_id, f"{topic}: more than {self.limit} entities"))
            return
        if old is not None:
            self._remove(entity.key)
            if (old.device, old.state_topic, old.value_key) != (
                entity.device,
                entity.state_topic,
                entity.value_key,
            ):
                outcome.removed.append(old)
        self.entities[entity.key] = entity
        if entity.state_topic is not None:
            self._by_state.setdefault(entity.state_topic, []).append(entity)
        for availability in entity.availability:
            self._by_availability.setdefault(availability.topic, []).append(entity)
        outcome.added.append(entity)

    def _remove(self, key: tuple[str, str]) -> Entity:
        entity = self.entities.pop(key)
        for index, topic in [(self._by_state, entity.state_topic)] + [
            (self._by_availability, a.topic) for a in entity.availability
        ]:
            if topic is None:
                continue
            listed = [e for e in index.get(topic, ()) if e.key != key]
            if listed:
                index[topic] = listed
            else:
                index.pop(topic, None)
        return entity

    def state(self, topic: str, payload: bytes) -> list[tuple[Entity, JsonValue, str | None]]:
        """``(entity, value, error)`` for each entity whose state topic is ``topic``:
        the value its template gives, or ``None`` and why not."""
        out: list[tuple[Entity, JsonValue, str | None]] = []
        for entity in self._by_state.get(topic, ()):
            try:
                out.append((entity, entity.template.render(payload), None))
            except DiscoveryError as exc:
                out.append((entity, None, str(exc)))
        return out

    def availability(self, topic: str, payload: bytes) -> dict[str, bool | None]:
        """The availability of each device with an entity listening on ``topic``
        after this message: ``True``, ``False``, or ``None`` (undecided: the payload
        is neither, or mode ``all``/``any`` still lacks a topic)."""
        result: dict[str, bool | None] = {}
        for entity in self._by_availability.get(topic, ()):
            for item in entity.availability:
                if item.topic == topic:
                    said = item.status(payload)
                    if said is not None:
                        self._last[(entity.device, topic)] = said
                    if entity.availability_mode == "latest":
                        if said is not None:
                            result[entity.device] = said
                        continue
                    known = [self._last.get((entity.device, a.topic)) for a in entity.availability]
                    if entity.availability_mode == "all":
                        result[entity.device] = (
                            False if False in known else (None if None in known else True)
                        )
                    else:
                        result[entity.device] = (
                            True if True in known else (None if None in known else False)
                        )
        return result
