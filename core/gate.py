"""A readers-writer gate between LMDB transactions and a map resize.

LMDB may only grow its map while no transaction is open anywhere in the
process. Every transaction holds the gate shared; a resize holds it
exclusively, waiting for open transactions to end and keeping new ones
out until it is done. Resizes are rare (the map starts large), so the
simple condition-variable design is enough; it does not favour writers.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class ResizeGate:
    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._holders = 0

    @contextmanager
    def shared(self) -> Iterator[None]:
        with self._cond:
            self._holders += 1
        try:
            yield
        finally:
            with self._cond:
                self._holders -= 1
                if self._holders == 0:
                    self._cond.notify_all()

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        with self._cond:
            self._cond.wait_for(lambda: self._holders == 0)
            yield
