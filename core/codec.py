"""Encoding of log entries and projection values, built once and reused.

An `events` value is the msgpack of `{"at_us": ..., "event": {...}}` with the
event's tag in `event.type`; its key is the 8-byte big-endian `seq`.

Upcasting: an event whose shape changed beyond msgspec's evolution rules
keeps its old class (under its old tag, e.g. `task.created/1` once
`task.created/2` exists) in `LEGACY_EVENT_TYPES`, with a function that
turns it into the current class. `build_decoder` makes one decoder over
the current and the legacy classes; it upcasts on read, so nothing above
this module ever sees an old shape. Tests build decoders with legacy
registries of their own.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Mapping
from typing import Any, Union

import msgspec

from phonefarm.core.events import CURRENT_EVENT_TYPES, Event, Recorded

Upcast = Callable[[Any], Event]
"""Turns an old event version into its current class (which may upcast again)."""

RecordDecoder = Callable[[bytes, bytes], Recorded]
"""Decodes one `events` entry, `(key, value)`, into a `Recorded`."""

# Old event classes and the functions that turn each into its current
# form. Empty until an event's shape changes incompatibly; see
# core/events.py for when that is. Every entry also needs a golden in
# tests/core/golden_events.json, kept from when it was current.
LEGACY_EVENT_TYPES: dict[type[Event], Upcast] = {}

_encoder = msgspec.msgpack.Encoder()
_U64 = struct.Struct(">Q")


def encode_event(at_us: int, event: Event) -> bytes:
    return _encoder.encode({"at_us": at_us, "event": event})


def build_decoder(legacy: Mapping[type[Event], Upcast]) -> RecordDecoder:
    """A decoder over the current events and `legacy`, upcasting the latter.

    Raises ValueError if a legacy class reuses a current tag: the stored tag
    alone must say which shape the bytes have.
    """
    current_tags = {cls.__struct_config__.tag for cls in CURRENT_EVENT_TYPES}
    for cls in legacy:
        if cls.__struct_config__.tag in current_tags:
            raise ValueError(f"legacy event {cls.__name__} reuses a current tag")
    upcasts = dict(legacy)
    decodable = Union[(*CURRENT_EVENT_TYPES, *upcasts)]  # type: ignore[valid-type]

    # defstruct, not a class statement: with postponed annotations, msgspec
    # could not resolve a union that lives in this function's locals.
    stored_type = msgspec.defstruct(
        "Stored", [("at_us", int), ("event", decodable)], frozen=True, kw_only=True
    )
    decoder = msgspec.msgpack.Decoder(stored_type)

    def decode(key: bytes, value: bytes) -> Recorded:
        stored = decoder.decode(value)
        event = stored.event
        while (upcast := upcasts.get(type(event))) is not None:
            event = upcast(event)
        return Recorded(seq=unpack_u64(key), at_us=stored.at_us, event=event)

    return decode


decode_record: RecordDecoder = build_decoder(LEGACY_EVENT_TYPES)
"""The store's decoder, built once from `LEGACY_EVENT_TYPES` at import."""


def pack_u64(n: int) -> bytes:
    return _U64.pack(n)


def unpack_u64(b: bytes) -> int:
    return _U64.unpack(b)[0]


def encode(obj: Any) -> bytes:
    return _encoder.encode(obj)
