"""Golden encoded events: bytes written by every event version still decode.

`golden_events.json` holds, for each event tag ever stored, the msgpack
that `encode_event` wrote while that version was current, and the fields
it was written with. A golden is history: never edit or regenerate the
entry of a released event. Only an event version that has never shipped
may have its entry deleted and written again.

Add the goldens of new event types or versions by hand:

    /tmp/venv/bin/python tests/core/test_golden_events.py          # print
    PHONEFARM_WRITE_GOLDENS=1 /tmp/venv/bin/python tests/core/test_golden_events.py

The first prints the missing entries; the second also adds them to the
file, leaving every existing entry as it is.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import msgspec
import msgspec.inspect as mi
import pytest

from phonefarm.core.codec import (
    LEGACY_EVENT_TYPES,
    build_decoder,
    decode_record,
    encode_event,
    pack_u64,
)
from phonefarm.core.events import CURRENT_EVENT_TYPES, Event, TaskStarted

GOLDEN_PATH = Path(__file__).with_name("golden_events.json")
WRITE_ENV = "PHONEFARM_WRITE_GOLDENS"
GOLDEN_AT_US = 1_714_557_600_000_000  # 2024-05-01 10:00:00 UTC
HOW_TO_ADD = (
    "no golden for {tags}: every event version needs one, so that bytes it "
    "writes are proven to decode forever. Add it with "
    f"`{WRITE_ENV}=1 /tmp/venv/bin/python tests/core/test_golden_events.py` "
    "and commit tests/core/golden_events.json with the event."
)

ABOUT = (
    "Golden encoded events, one per event tag ever stored; see "
    "tests/core/test_golden_events.py. Never edit the entry of a released event."
)

# Decodes legacy versions as they were stored, without upcasting them.
_decode_as_stored = build_decoder({cls: lambda old: old for cls in LEGACY_EVENT_TYPES})


def tag_of(cls: type[Event]) -> str:
    return cls.__struct_config__.tag  # type: ignore[return-value]


def known_tags() -> dict[str, type[Event]]:
    """Every tag the decoder reads: current versions and legacy ones."""
    return {tag_of(cls): cls for cls in (*CURRENT_EVENT_TYPES, *LEGACY_EVENT_TYPES)}


def load_goldens() -> dict[str, dict[str, Any]]:
    if not GOLDEN_PATH.exists():
        return {}
    return json.loads(GOLDEN_PATH.read_text())["events"]


# -- the tests -----------------------------------------------------------


def test_every_event_version_has_a_golden():
    missing = sorted(set(known_tags()) - set(load_goldens()))
    assert not missing, HOW_TO_ADD.format(tags=", ".join(missing))


@pytest.mark.parametrize("tag", sorted(load_goldens()))
def test_a_golden_decodes_to_the_fields_it_was_written_with(tag):
    golden = load_goldens()[tag]
    value = bytes.fromhex(golden["msgpack_hex"])
    try:
        stored = _decode_as_stored(pack_u64(7), value)
    except msgspec.ValidationError as exc:
        pytest.fail(
            f"{tag} is in stored logs but no longer decodes ({exc}): keep its old "
            "class in core/codec.py's LEGACY_EVENT_TYPES with an upcast"
        )

    assert tag_of(type(stored.event)) == tag
    assert (stored.seq, stored.at_us) == (7, golden["at_us"])
    fields = msgspec.to_builtins(stored.event)
    fields.pop("type")
    written = golden["fields"]
    for name, value in fields.items():
        if name in written:
            assert value == written[name], f"{tag}.{name} changed meaning"
        else:
            default = _default_of(type(stored.event), name)
            assert value == default, f"{tag}.{name} was added without a default"
    assert set(written) <= set(fields), f"{tag} lost fields: keep a legacy class"


@pytest.mark.parametrize("tag", sorted(load_goldens()))
def test_the_store_reads_a_golden_as_a_current_event(tag):
    golden = load_goldens()[tag]
    record = decode_record(pack_u64(7), bytes.fromhex(golden["msgpack_hex"]))
    assert type(record.event) in CURRENT_EVENT_TYPES


# An old version of `task.started`, as if version 0 had named its fields
# differently and had no attempt counter yet.
class TaskStartedV0(Event, frozen=True, kw_only=True, tag="task.started/0"):
    task: int
    phone: str


def upcast_task_started_v0(old: TaskStartedV0) -> TaskStarted:
    return TaskStarted(task_id=old.task, serial=old.phone, attempt=1)


def test_an_old_version_with_another_shape_is_upcast_on_read():
    stored = encode_event(GOLDEN_AT_US, TaskStartedV0(task=4, phone="S9"))
    with pytest.raises(msgspec.ValidationError):
        decode_record(pack_u64(3), stored)  # the store's decoder never knew v0

    decode = build_decoder({TaskStartedV0: upcast_task_started_v0})
    record = decode(pack_u64(3), stored)
    assert record.event == TaskStarted(task_id=4, serial="S9", attempt=1)
    assert (record.seq, record.at_us) == (3, GOLDEN_AT_US)
    current = encode_event(GOLDEN_AT_US, TaskStarted(task_id=5, serial="S1", attempt=2))
    assert decode(pack_u64(4), current).event.task_id == 5


def test_a_legacy_class_may_not_reuse_a_current_tag():
    class Clash(Event, frozen=True, kw_only=True, tag=tag_of(TaskStarted)):
        task: int

    with pytest.raises(ValueError, match="reuses a current tag"):
        build_decoder({Clash: lambda old: old})


# -- writing goldens (by hand only) ---------------------------------------


def sample_event(cls: type[Event]) -> Event:
    """An instance with every field set, defaulted ones to a non-default value."""
    values = {
        field.name: _sample_value(field.type, field.name, index)
        for index, field in enumerate(mi.type_info(cls).fields)
    }
    return cls(**values)


def _sample_value(t: mi.Type, name: str, index: int) -> Any:
    match t:
        case mi.IntType(ge=ge, le=le):
            value = 1000 + index
            if ge is not None:
                value = max(value, ge)
            return value if le is None else min(value, le)
        case mi.StrType(pattern=None):
            return f"{name}-{index}"
        case mi.BoolType():
            return True
        case mi.FloatType():
            return index + 0.5
        case mi.UnionType(types=types):
            chosen = next(arm for arm in types if not isinstance(arm, mi.NoneType))
            return _sample_value(chosen, name, index)
        case mi.ListType(item_type=item):
            return [_sample_value(item, name, index), _sample_value(item, name, index)]
        case mi.DictType(key_type=mi.StrType(), value_type=mi.AnyType()):
            return {
                "text": "a",
                "number": 7,
                "list": ["b", 1],
                "flag": True,
                "none": None,
            }
        case mi.DictType(key_type=key, value_type=value):
            return {_sample_value(key, name, index): _sample_value(value, name, index)}
    raise TypeError(f"no sample value for {name}: {t!r}; teach _sample_value this type")


def _default_of(cls: type[Event], name: str) -> Any:
    (field,) = (f for f in mi.type_info(cls).fields if f.name == name)
    if field.required:
        return msgspec.NODEFAULT
    return msgspec.to_builtins(
        field.default
        if field.default_factory is msgspec.NODEFAULT
        else field.default_factory()
    )


def missing_goldens() -> dict[str, dict[str, Any]]:
    have = load_goldens()
    entries = {}
    for tag, cls in sorted(known_tags().items()):
        if tag in have:
            continue
        if cls in LEGACY_EVENT_TYPES:
            raise SystemExit(f"{tag} is legacy: its golden must come from git history")
        event = sample_event(cls)
        fields = msgspec.to_builtins(event)
        fields.pop("type")
        entries[tag] = {
            "at_us": GOLDEN_AT_US,
            "fields": fields,
            "msgpack_hex": encode_event(GOLDEN_AT_US, event).hex(),
        }
    return entries


def main() -> int:
    new = missing_goldens()
    if not new:
        print("every event version has its golden", file=sys.stderr)
        return 0
    print(json.dumps(new, indent=2, sort_keys=True))
    if os.environ.get(WRITE_ENV) != "1":
        print(f"{len(new)} missing; set {WRITE_ENV}=1 to add them", file=sys.stderr)
        return 0
    document = (
        json.loads(GOLDEN_PATH.read_text())
        if GOLDEN_PATH.exists()
        else {"about": ABOUT, "events": {}}
    )
    document["events"].update(new)
    document["events"] = dict(sorted(document["events"].items()))
    GOLDEN_PATH.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")
    print(f"added {len(new)} goldens to {GOLDEN_PATH}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
