"""Rebuild the projections from the event log, or check them against it.

Projections are derived data: replaying every event through the same
`Projector` the writer uses gives them back exactly. `rebuild` does that in
place, in one write transaction (a crash mid-way leaves the old
projections, never half of each). `check` replays into a scratch
environment from one read snapshot of the live store and compares every
projection database key by key, so it can run beside a live server.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import lmdb
import msgspec

from phonefarm.core.codec import decode_record
from phonefarm.core.projections import (
    META_SCHEMA_VERSION,
    PROJECTION_NAMES,
    Databases,
    Projector,
)

Progress = Callable[[int, int], None]
"""Called as `progress(events_done, events_total)` every `PROGRESS_EVERY` events."""

PROGRESS_EVERY = 1000


class Difference(msgspec.Struct, frozen=True):
    database: str
    key: bytes
    live: bytes | None
    rebuilt: bytes | None

    def describe(self) -> str:
        if self.live is None:
            return f"{self.database}: key {self.key.hex()} missing from the live store"
        if self.rebuilt is None:
            return f"{self.database}: key {self.key.hex()} is in the live store only"
        return f"{self.database}: key {self.key.hex()} differs"


def replay(
    source: lmdb.Transaction,
    source_dbs: Databases,
    target: lmdb.Transaction,
    target_dbs: Databases,
    progress: Progress | None = None,
) -> int:
    """Project every event of `source` into `target`'s (empty) projections."""
    total = source.stat(source_dbs.events)["entries"]
    projector = Projector(target, target_dbs)
    done = 0
    for key, value in source.cursor(db=source_dbs.events):
        projector.apply(decode_record(key, value))
        done += 1
        if progress is not None and done % PROGRESS_EVERY == 0:
            progress(done, total)
    if progress is not None:
        progress(done, total)
    return done


def rebuild_in_place(
    env: lmdb.Environment, dbs: Databases, progress: Progress | None = None
) -> int:
    """Drop every projection and replay the log into it, in one transaction."""
    with env.begin(write=True) as txn:
        schema = _preserved_meta(txn, dbs)
        for name in PROJECTION_NAMES:
            txn.drop(getattr(dbs, name), delete=False)
        for key, value in schema:
            txn.put(key, value, db=dbs.meta)
        return replay(txn, dbs, txn, dbs, progress)


def check(
    live: lmdb.Transaction,
    dbs: Databases,
    open_scratch: Callable[[Path], tuple[lmdb.Environment, Databases]],
    progress: Progress | None = None,
) -> list[Difference]:
    """Replay one live snapshot's log into a scratch store; list the differences."""
    with tempfile.TemporaryDirectory(prefix="phonefarm-check-") as scratch_dir:
        scratch_env, scratch_dbs = open_scratch(Path(scratch_dir))
        try:
            with scratch_env.begin(write=True) as rebuilt:
                for key, value in _preserved_meta(live, dbs):
                    rebuilt.put(key, value, db=scratch_dbs.meta)
                replay(live, dbs, rebuilt, scratch_dbs, progress)
                return [
                    difference
                    for name in PROJECTION_NAMES
                    for difference in _compare(
                        name,
                        live.cursor(db=getattr(dbs, name)),
                        rebuilt.cursor(db=getattr(scratch_dbs, name)),
                    )
                ]
        finally:
            scratch_env.close()


def _preserved_meta(txn: lmdb.Transaction, dbs: Databases) -> list[tuple[bytes, bytes]]:
    """Meta entries that are not derived from events (the schema version)."""
    value = txn.get(META_SCHEMA_VERSION, db=dbs.meta)
    return [] if value is None else [(META_SCHEMA_VERSION, value)]


def _compare(
    name: str, live: lmdb.Cursor, rebuilt: lmdb.Cursor
) -> Iterator[Difference]:
    """Merge-walk two sorted databases, yielding each key where they differ."""
    left, right = iter(live), iter(rebuilt)
    a, b = next(left, None), next(right, None)
    while a is not None or b is not None:
        if b is None or (a is not None and a[0] < b[0]):
            yield Difference(name, a[0], a[1], None)
            a = next(left, None)
        elif a is None or b[0] < a[0]:
            yield Difference(name, b[0], None, b[1])
            b = next(right, None)
        else:
            if a[1] != b[1]:
                yield Difference(name, a[0], a[1], b[1])
            a, b = next(left, None), next(right, None)
