"""Wall-clock time, injectable, with the time zone schedules are read in.

Waiting never goes through this module: waits are trio's, so tests run them
under MockClock. This clock only answers "what time is it" for timestamps
and for turning a "HH:MM" start time into an instant.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Protocol


class Clock(Protocol):
    tz: dt.tzinfo

    def now_us(self) -> int:
        """Microseconds since the Unix epoch."""


class SystemClock:
    """The machine's clock, in a given time zone (the machine's by default)."""

    def __init__(self, tz: dt.tzinfo | None = None) -> None:
        self.tz = tz or local_timezone()

    def now_us(self) -> int:
        return time.time_ns() // 1000


def local_timezone() -> dt.tzinfo:
    return dt.datetime.now().astimezone().tzinfo or dt.UTC


def iso_from_us(us: int | None, tz: dt.tzinfo) -> str | None:
    """ISO 8601 with offset, milliseconds precision, or None."""
    if us is None:
        return None
    moment = dt.datetime.fromtimestamp(us / 1_000_000, tz)
    return moment.isoformat(timespec="milliseconds")
