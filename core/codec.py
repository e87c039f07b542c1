"""Encoding of log entries and projection values, built once and reused.

An `events` value is the msgpack of `{"at_us": ..., "event": {...}}` with the
event's tag in `event.type`; its key is the 8-byte big-endian `seq`. Old
event versions listed in `LEGACY_EVENT_TYPES` decode through the same
union and are upcast to their current class on read, so nothing above this
module ever sees an old shape.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any, Union

import msgspec

from phonefarm.core.events import CURRENT_EVENT_TYPES, Event, Recorded

# Old event classes and the functions that turn each into its current
# form. Empty until an event's shape changes incompatibly; see
# core/events.py for when that is.
LEGACY_EVENT_TYPES: dict[type[Event], Callable[[Any], Event]] = {}

_DecodableEvent = Union[(*CURRENT_EVENT_TYPES, *LEGACY_EVENT_TYPES)]


class _Stored(msgspec.Struct, frozen=True, kw_only=True):
    at_us: int
    event: _DecodableEvent  # type: ignore[valid-type]


_encoder = msgspec.msgpack.Encoder()
_stored_decoder = msgspec.msgpack.Decoder(_Stored)
_U64 = struct.Struct(">Q")


def encode_event(at_us: int, event: Event) -> bytes:
    return _encoder.encode(_Stored(at_us=at_us, event=event))


def decode_record(key: bytes, value: bytes) -> Recorded:
    stored = _stored_decoder.decode(value)
    event = stored.event
    upcast = LEGACY_EVENT_TYPES.get(type(event))
    if upcast is not None:
        event = upcast(event)
    return Recorded(seq=unpack_u64(key), at_us=stored.at_us, event=event)


def pack_u64(n: int) -> bytes:
    return _U64.pack(n)


def unpack_u64(b: bytes) -> int:
    return _U64.unpack(b)[0]


def encode(obj: Any) -> bytes:
    return _encoder.encode(obj)
