"""`start_time` "HH:MM": parse it strictly and resolve it to an instant.

A start time names a wall-clock minute in the server's time zone; the task
is due the next time that clock shows it. Both steps are pure: the caller
passes the current instant and the zone, so the choice is made once, at
creation, and recorded in the task's `scheduled_at_us`.
"""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

from phonefarm.core.errors import InvalidParameterError

FIELD = "start_time"
_DIGITS = frozenset("0123456789")
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_ONE_DAY = dt.timedelta(days=1)
# Days ahead to look for the next occurrence. One is enough almost
# everywhere; a zone that skipped a whole calendar day (Samoa dropped
# 2011-12-30) needs the second.
_DAYS_AHEAD = 3


class StartTime(NamedTuple):
    hour: int
    minute: int

    def __str__(self) -> str:
        return f"{self.hour:02d}:{self.minute:02d}"


def parse_start_time(value: object) -> StartTime | None:
    """Parse a request's `start_time`; None means "as soon as possible".

    Absent (pass None), null and "" mean ASAP, as TikMatrix's own UI sends
    "" for "run now". Anything but exactly two ASCII digits, a colon and two
    ASCII digits, 00:00 to 23:59, raises `InvalidParameterError`.
    """
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InvalidParameterError(FIELD, 'must be a string "HH:MM" or null')
    if (
        len(value) != 5
        or value[2] != ":"
        or not _DIGITS.issuperset(value[:2] + value[3:])
    ):
        raise InvalidParameterError(FIELD, f'must be "HH:MM", got {value!r}')
    hour, minute = int(value[:2]), int(value[3:])
    if hour > 23 or minute > 59:
        raise InvalidParameterError(FIELD, f"must be 00:00 to 23:59, got {value!r}")
    return StartTime(hour, minute)


def scheduled_at_us(start: StartTime | None, now_us: int, tz: dt.tzinfo) -> int:
    """Return when a task with this start time is due, in µs since the epoch.

    ASAP is now. A start time equal to the clock's current minute is now;
    otherwise it is the next instant the clock in `tz` shows HH:MM:00.

    Daylight saving time, decided here:
    - a fold (the clock goes back, so 01:30 shows twice) is due at the next
      of its occurrences still ahead: the first, or the second once the
      first has passed;
    - a gap (the clock jumps, so 02:30 never shows that day) is due at the
      jump itself, the first instant the clock reads later than HH:MM. A
      task "at 02:30" is then overdue at 03:00 and runs, rather than
      slipping to the next day or to 03:30 (the PEP 495 fold=0 reading,
      which would delay it for no reason).
    """
    if start is None:
        return now_us
    now = _local(now_us, tz)
    if (now.hour, now.minute) == start:
        return now_us
    for days in range(_DAYS_AHEAD):
        day = now.date() + days * _ONE_DAY
        ahead = [t for t in _instants_showing(day, start, tz) if t > now_us]
        if ahead:
            return min(ahead)
    raise AssertionError(f"no {start} within {_DAYS_AHEAD} days in {tz}")


def _instants_showing(day: dt.date, start: StartTime, tz: dt.tzinfo) -> list[int]:
    """The instants at which the clock shows `start` on `day` (0, 1 or 2 of them).

    For a time in a gap, the instant the clock jumps over it instead.
    """
    wall = dt.datetime.combine(day, dt.time(start.hour, start.minute))
    readings = {_us(wall.replace(tzinfo=tz, fold=fold)) for fold in (0, 1)}
    shown = [us for us in readings if _wall(us, tz) == wall]
    if shown:
        return sorted(shown)
    return [_jump_over(wall, min(readings), max(readings), tz)]


def _jump_over(wall: dt.datetime, lo_us: int, hi_us: int, tz: dt.tzinfo) -> int:
    """The first instant in (lo_us, hi_us] whose wall time is past `wall`.

    `lo_us` and `hi_us` are the two readings of a wall time inside a gap:
    the clock shows less than it before the jump and more after, and only
    goes forward in between, so a bisection on whole seconds finds the jump
    (tz transitions fall on whole seconds).
    """
    lo_s, hi_s = lo_us // 1_000_000, -(-hi_us // 1_000_000)
    while hi_s - lo_s > 1:
        mid_s = (lo_s + hi_s) // 2
        if _wall(mid_s * 1_000_000, tz) > wall:
            hi_s = mid_s
        else:
            lo_s = mid_s
    return hi_s * 1_000_000


def _local(us: int, tz: dt.tzinfo) -> dt.datetime:
    return (_EPOCH + dt.timedelta(microseconds=us)).astimezone(tz)


def _wall(us: int, tz: dt.tzinfo) -> dt.datetime:
    return _local(us, tz).replace(tzinfo=None, fold=0)


def _us(moment: dt.datetime) -> int:
    return (moment - _EPOCH) // dt.timedelta(microseconds=1)
