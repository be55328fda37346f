"""The Sparkplug B payload message of Eclipse Tahu (``sparkplug_b.proto``, package
``org.eclipse.tahu.protobuf``, Sparkplug 3.0 Annex/§6.4), for the ``protobuf`` runtime.

The descriptor below (base64) is the compiled ``sparkplug_b.proto`` of Eclipse Tahu (the
serialized ``FileDescriptorProto`` protoc makes of it, as the Sparkplug libraries ship
it, e.g. pysparkplug's ``sparkplug_b_pb2``). It is loaded into a private descriptor
pool, so another copy of the same file loaded by some other package cannot clash.

Usage::

    from console.mqtt.tahu import Payload
    message = Payload()
    message.ParseFromString(data)   # google.protobuf.message.DecodeError on bad bytes
"""

from __future__ import annotations

import base64
from typing import Any, Final

from google.protobuf import descriptor_pool, message_factory

__all__ = ["DATATYPE_NAMES", "Payload"]

_DESCRIPTOR: Final = base64.b64decode(
    "ChFzcGFya3BsdWdfYi5wcm90bxIZb3JnLmVjbGlwc2UudGFodS5wcm90b2J1ZiLuFQoHUGF5bG9h"
    "ZBIRCgl0aW1lc3RhbXAYASABKAQSOgoHbWV0cmljcxgCIAMoCzIpLm9yZy5lY2xpcHNlLnRhaHUu"
    "cHJvdG9idWYuUGF5bG9hZC5NZXRyaWMSCwoDc2VxGAMgASgEEgwKBHV1aWQYBCABKAkSDAoEYm9k"
    "eRgFIAEoDBqmBAoIVGVtcGxhdGUSDwoHdmVyc2lvbhgBIAEoCRI6CgdtZXRyaWNzGAIgAygLMiku"
    "b3JnLmVjbGlwc2UudGFodS5wcm90b2J1Zi5QYXlsb2FkLk1ldHJpYxJJCgpwYXJhbWV0ZXJzGAMg"
    "AygLMjUub3JnLmVjbGlwc2UudGFodS5wcm90b2J1Zi5QYXlsb2FkLlRlbXBsYXRlLlBhcmFtZXRl"
    "chIUCgx0ZW1wbGF0ZV9yZWYYBCABKAkSFQoNaXNfZGVmaW5pdGlvbhgFIAEoCBrKAgoJUGFyYW1l"
    "dGVyEgwKBG5hbWUYASABKAkSDAoEdHlwZRgCIAEoDRITCglpbnRfdmFsdWUYAyABKA1IABIUCgps"
    "b25nX3ZhbHVlGAQgASgESAASFQoLZmxvYXRfdmFsdWUYBSABKAJIABIWCgxkb3VibGVfdmFsdWUY"
    "BiABKAFIABIXCg1ib29sZWFuX3ZhbHVlGAcgASgISAASFgoMc3RyaW5nX3ZhbHVlGAggASgJSAAS"
    "aAoPZXh0ZW5zaW9uX3ZhbHVlGAkgASgLMk0ub3JnLmVjbGlwc2UudGFodS5wcm90b2J1Zi5QYXls"
    "b2FkLlRlbXBsYXRlLlBhcmFtZXRlci5QYXJhbWV0ZXJWYWx1ZUV4dGVuc2lvbkgAGiMKF1BhcmFt"
    "ZXRlclZhbHVlRXh0ZW5zaW9uKggIARCAgICAAkIHCgV2YWx1ZSoICAYQgICAgAIalwQKB0RhdGFT"
    "ZXQSFgoObnVtX29mX2NvbHVtbnMYASABKAQSDwoHY29sdW1ucxgCIAMoCRINCgV0eXBlcxgDIAMo"
    "DRI8CgRyb3dzGAQgAygLMi4ub3JnLmVjbGlwc2UudGFodS5wcm90b2J1Zi5QYXlsb2FkLkRhdGFT"
    "ZXQuUm93Gq8CCgxEYXRhU2V0VmFsdWUSEwoJaW50X3ZhbHVlGAEgASgNSAASFAoKbG9uZ192YWx1"
    "ZRgCIAEoBEgAEhUKC2Zsb2F0X3ZhbHVlGAMgASgCSAASFgoMZG91YmxlX3ZhbHVlGAQgASgBSAAS"
    "FwoNYm9vbGVhbl92YWx1ZRgFIAEoCEgAEhYKDHN0cmluZ192YWx1ZRgGIAEoCUgAEmgKD2V4dGVu"
    "c2lvbl92YWx1ZRgHIAEoCzJNLm9yZy5lY2xpcHNlLnRhaHUucHJvdG9idWYuUGF5bG9hZC5EYXRh"
    "U2V0LkRhdGFTZXRWYWx1ZS5EYXRhU2V0VmFsdWVFeHRlbnNpb25IABohChVEYXRhU2V0VmFsdWVF"
    "eHRlbnNpb24qCAgBEICAgIACQgcKBXZhbHVlGloKA1JvdxJJCghlbGVtZW50cxgBIAMoCzI3Lm9y"
    "Zy5lY2xpcHNlLnRhaHUucHJvdG9idWYuUGF5bG9hZC5EYXRhU2V0LkRhdGFTZXRWYWx1ZSoICAIQ"
    "gICAgAIqCAgFEICAgIACGukDCg1Qcm9wZXJ0eVZhbHVlEgwKBHR5cGUYASABKA0SDwoHaXNfbnVs"
    "bBgCIAEoCBITCglpbnRfdmFsdWUYAyABKA1IABIUCgpsb25nX3ZhbHVlGAQgASgESAASFQoLZmxv"
    "YXRfdmFsdWUYBSABKAJIABIWCgxkb3VibGVfdmFsdWUYBiABKAFIABIXCg1ib29sZWFuX3ZhbHVl"
    "GAcgASgISAASFgoMc3RyaW5nX3ZhbHVlGAggASgJSAASSwoRcHJvcGVydHlzZXRfdmFsdWUYCSAB"
    "KAsyLi5vcmcuZWNsaXBzZS50YWh1LnByb3RvYnVmLlBheWxvYWQuUHJvcGVydHlTZXRIABJQChJw"
    "cm9wZXJ0eXNldHNfdmFsdWUYCiABKAsyMi5vcmcuZWNsaXBzZS50YWh1LnByb3RvYnVmLlBheWxv"
    "YWQuUHJvcGVydHlTZXRMaXN0SAASYgoPZXh0ZW5zaW9uX3ZhbHVlGAsgASgLMkcub3JnLmVjbGlw"
    "c2UudGFodS5wcm90b2J1Zi5QYXlsb2FkLlByb3BlcnR5VmFsdWUuUHJvcGVydHlWYWx1ZUV4dGVu"
    "c2lvbkgAGiIKFlByb3BlcnR5VmFsdWVFeHRlbnNpb24qCAgBEICAgIACQgcKBXZhbHVlGmcKC1By"
    "b3BlcnR5U2V0EgwKBGtleXMYASADKAkSQAoGdmFsdWVzGAIgAygLMjAub3JnLmVjbGlwc2UudGFo"
    "dS5wcm90b2J1Zi5QYXlsb2FkLlByb3BlcnR5VmFsdWUqCAgDEICAgIACGmAKD1Byb3BlcnR5U2V0"
    "TGlzdBJDCgtwcm9wZXJ0eXNldBgBIAMoCzIuLm9yZy5lY2xpcHNlLnRhaHUucHJvdG9idWYuUGF5"
    "bG9hZC5Qcm9wZXJ0eVNldCoICAIQgICAgAIapAEKCE1ldGFEYXRhEhUKDWlzX211bHRpX3BhcnQY"
    "ASABKAgSFAoMY29udGVudF90eXBlGAIgASgJEgwKBHNpemUYAyABKAQSCwoDc2VxGAQgASgEEhEK"
    "CWZpbGVfbmFtZRgFIAEoCRIRCglmaWxlX3R5cGUYBiABKAkSCwoDbWQ1GAcgASgJEhMKC2Rlc2Ny"
    "aXB0aW9uGAggASgJKggICRCAgICAAhq/BQoGTWV0cmljEgwKBG5hbWUYASABKAkSDQoFYWxpYXMY"
    "AiABKAQSEQoJdGltZXN0YW1wGAMgASgEEhAKCGRhdGF0eXBlGAQgASgNEhUKDWlzX2hpc3Rvcmlj"
    "YWwYBSABKAgSFAoMaXNfdHJhbnNpZW50GAYgASgIEg8KB2lzX251bGwYByABKAgSPQoIbWV0YWRh"
    "dGEYCCABKAsyKy5vcmcuZWNsaXBzZS50YWh1LnByb3RvYnVmLlBheWxvYWQuTWV0YURhdGESQgoK"
    "cHJvcGVydGllcxgJIAEoCzIuLm9yZy5lY2xpcHNlLnRhaHUucHJvdG9idWYuUGF5bG9hZC5Qcm9w"
    "ZXJ0eVNldBITCglpbnRfdmFsdWUYCiABKA1IABIUCgpsb25nX3ZhbHVlGAsgASgESAASFQoLZmxv"
    "YXRfdmFsdWUYDCABKAJIABIWCgxkb3VibGVfdmFsdWUYDSABKAFIABIXCg1ib29sZWFuX3ZhbHVl"
    "GA4gASgISAASFgoMc3RyaW5nX3ZhbHVlGA8gASgJSAASFQoLYnl0ZXNfdmFsdWUYECABKAxIABJD"
    "Cg1kYXRhc2V0X3ZhbHVlGBEgASgLMioub3JnLmVjbGlwc2UudGFodS5wcm90b2J1Zi5QYXlsb2Fk"
    "LkRhdGFTZXRIABJFCg50ZW1wbGF0ZV92YWx1ZRgSIAEoCzIrLm9yZy5lY2xpcHNlLnRhaHUucHJv"
    "dG9idWYuUGF5bG9hZC5UZW1wbGF0ZUgAElkKD2V4dGVuc2lvbl92YWx1ZRgTIAEoCzI+Lm9yZy5l"
    "Y2xpcHNlLnRhaHUucHJvdG9idWYuUGF5bG9hZC5NZXRyaWMuTWV0cmljVmFsdWVFeHRlbnNpb25I"
    "ABogChRNZXRyaWNWYWx1ZUV4dGVuc2lvbioICAEQgICAgAJCBwoFdmFsdWUqCAgGEICAgIACKvID"
    "CghEYXRhVHlwZRILCgdVbmtub3duEAASCAoESW50OBABEgkKBUludDE2EAISCQoFSW50MzIQAxIJ"
    "CgVJbnQ2NBAEEgkKBVVJbnQ4EAUSCgoGVUludDE2EAYSCgoGVUludDMyEAcSCgoGVUludDY0EAgS"
    "CQoFRmxvYXQQCRIKCgZEb3VibGUQChILCgdCb29sZWFuEAsSCgoGU3RyaW5nEAwSDAoIRGF0ZVRp"
    "bWUQDRIICgRUZXh0EA4SCAoEVVVJRBAPEgsKB0RhdGFTZXQQEBIJCgVCeXRlcxAREggKBEZpbGUQ"
    "EhIMCghUZW1wbGF0ZRATEg8KC1Byb3BlcnR5U2V0EBQSEwoPUHJvcGVydHlTZXRMaXN0EBUSDQoJ"
    "SW50OEFycmF5EBYSDgoKSW50MTZBcnJheRAXEg4KCkludDMyQXJyYXkQGBIOCgpJbnQ2NEFycmF5"
    "EBkSDgoKVUludDhBcnJheRAaEg8KC1VJbnQxNkFycmF5EBsSDwoLVUludDMyQXJyYXkQHBIPCgtV"
    "SW50NjRBcnJheRAdEg4KCkZsb2F0QXJyYXkQHhIPCgtEb3VibGVBcnJheRAfEhAKDEJvb2xlYW5B"
    "cnJheRAgEg8KC1N0cmluZ0FycmF5ECESEQoNRGF0ZVRpbWVBcnJheRAiQiwKGW9yZy5lY2xpcHNl"
    "LnRhaHUucHJvdG9idWZCD1NwYXJrcGx1Z0JQcm90bw=="
)

_POOL: Final = descriptor_pool.DescriptorPool()
_POOL.AddSerializedFile(_DESCRIPTOR)

#: The ``Payload`` message class (``org.eclipse.tahu.protobuf.Payload``).
Payload: Any = message_factory.GetMessageClass(
    _POOL.FindMessageTypeByName("org.eclipse.tahu.protobuf.Payload")
)

#: Sparkplug B datatype number -> name (the ``DataType`` enum of the same file).
DATATYPE_NAMES: Final[dict[int, str]] = {
    value.number: value.name
    for value in _POOL.FindEnumTypeByName("org.eclipse.tahu.protobuf.DataType").values
}
