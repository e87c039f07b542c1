"""Clocks for tests under trio's MockClock."""

import datetime as dt

import trio

START_US = 1_800_000_000_000_000


class TrioWallClock:
    """A wall clock that follows trio's clock, so MockClock moves it too."""

    tz = dt.UTC

    def __init__(self) -> None:
        self._offset_us = START_US - int(trio.current_time() * 1_000_000)

    def now_us(self) -> int:
        return self._offset_us + int(trio.current_time() * 1_000_000)
