"""Key layouts of the LMDB databases.

Integers are 8-byte big-endian, so LMDB's byte order is numeric order.
Strings inside keys are msgpack-encoded: a msgpack value carries its own
length, so no key prefix built from them is a prefix of another.

The task list is served from one index holding, for every task, one key per
combination of the list filters (status, serial, script_name, source): 16
keys a task. A combination's keys share a prefix, `[mask, *values]`, and
end in the inverted task id, so a forward cursor walk from the prefix gives
that combination's tasks newest first, and a counter per prefix gives the
exact `total`. Rejected: one index per filter intersected at query time (a
page would then scan), and a single table scan (every page reads all tasks).
"""

from __future__ import annotations

from collections.abc import Iterator

import msgspec

from phonefarm.core.codec import pack_u64, unpack_u64

FILTER_FIELDS = ("status", "serial", "script_name", "source")
_ALL_MASKS = range(1 << len(FILTER_FIELDS))
_STATUS_BIT = 1
_MAX_U64 = (1 << 64) - 1

_encode = msgspec.msgpack.Encoder().encode


def filter_prefix(filters: dict[str, object]) -> bytes:
    """Return the index prefix for a combination of filters (None = unset)."""
    mask = 0
    values: list[object] = []
    for bit, field in enumerate(FILTER_FIELDS):
        value = filters.get(field)
        if value is not None:
            mask |= 1 << bit
            values.append(value)
    return _encode([mask, *values])


def task_prefixes(
    values: tuple[object, ...], *, status_only: bool = False
) -> Iterator[bytes]:
    """Yield the prefixes a task with these filter values is listed under.

    With `status_only`, only the combinations that include status: the ones
    a status change moves.
    """
    for mask in _ALL_MASKS:
        if status_only and not mask & _STATUS_BIT:
            continue
        chosen = [v for bit, v in enumerate(values) if mask & (1 << bit)]
        yield _encode([mask, *chosen])


def index_key(prefix: bytes, task_id: int) -> bytes:
    return prefix + pack_u64(_MAX_U64 - task_id)


def task_id_of_index_key(key: bytes) -> int:
    return _MAX_U64 - unpack_u64(key[-8:])


def task_key(task_id: int) -> bytes:
    return pack_u64(task_id)


def history_key(task_id: int, seq: int) -> bytes:
    return pack_u64(task_id) + pack_u64(seq)


def serial_prefix(serial: str) -> bytes:
    return _encode(serial)


def due_key(serial: str, scheduled_at_us: int, task_id: int) -> bytes:
    return serial_prefix(serial) + pack_u64(scheduled_at_us) + pack_u64(task_id)


def parse_due_key(key: bytes) -> tuple[int, int]:
    """Return (scheduled_at_us, task_id) from a due key."""
    return unpack_u64(key[-16:-8]), unpack_u64(key[-8:])
