"""The event object the API and `phonefarm events --json` show for a log entry."""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec

from phonefarm.core.clock import iso_from_us
from phonefarm.core.events import Recorded


def event_object(record: Recorded, tz: dt.tzinfo) -> dict[str, Any]:
    """`{seq, type, version, at, task_id, serial, data}`; `data` is the event."""
    event = record.event
    data = msgspec.structs.asdict(event)
    return {
        "seq": record.seq,
        "type": event.type_name(),
        "version": event.version(),
        "at": iso_from_us(record.at_us, tz),
        "task_id": data.get("task_id"),
        "serial": data.get("serial"),
        "data": data,
    }
