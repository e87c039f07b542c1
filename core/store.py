"""The LMDB store: the event log and its projections in one environment.

Synchronous by design: `apply` runs one batch of commands in ONE write
transaction (decide, append, project, commit with fsync) and is meant to be
called from a single worker thread, the writer's. Reads open their own
short read-only transactions and may run in any thread, beside a write.

Durability: `sync=True` makes LMDB fdatasync the data file and meta page on
every commit, so `apply` returning means the batch is on disk. Atomicity
holds per transaction; a command that `decide` rejects writes nothing,
while the other commands of its batch still commit.
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TypeVar

import lmdb

from phonefarm.core import keys
from phonefarm.core.accounts import normalise_username
from phonefarm.core.codec import decode_record, encode_event, pack_u64, unpack_u64
from phonefarm.core.commands import AcceptedRequest, Account, Command, Device, StateView
from phonefarm.core.errors import (
    PhonefarmError,
    RequestError,
    StoreError,
    StoreFullError,
    StoreLockedError,
)
from phonefarm.core.events import Recorded, TaskCreated, TaskDeleted
from phonefarm.core.gate import ResizeGate
from phonefarm.core.projections import (
    DATABASE_NAMES,
    META_NEXT_TASK_ID,
    META_SCHEMA_VERSION,
    Databases,
    Projector,
    read_accepted_request,
    read_account,
    read_accounts,
    read_counter,
    read_device,
    read_devices,
    read_meta_int,
    read_task,
)
from phonefarm.core.projections import META_LAST_SEQ as _META_LAST_SEQ
from phonefarm.core.rebuild import Difference, Progress, rebuild_in_place
from phonefarm.core.rebuild import check as check_projections
from phonefarm.core.rules import decide
from phonefarm.core.task import Task, TaskStatus, created, evolve

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
DEFAULT_MAP_SIZE_BYTES = 1 << 40  # address space only; LMDB reserves, not allocates
LOCK_FILE_NAME = "phonefarm.lock"

Outcome = list[Recorded] | RequestError
"""A command's result in a batch: its committed events, or why it was refused."""

T = TypeVar("T")


class Store:
    """One data directory: open it with `Store.open`, close it when done."""

    def __init__(
        self, env: lmdb.Environment, dbs: Databases, lock_fd: int | None
    ) -> None:
        self._env = env
        self._dbs = dbs
        self._lock_fd = lock_fd
        self._gate = ResizeGate()
        self.path = Path(env.path())

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str],
        *,
        map_size: int = DEFAULT_MAP_SIZE_BYTES,
        readonly: bool = False,
        create: bool = True,
    ) -> Store:
        """Open (creating if needed, unless `create` is False) a data directory's store.

        A writable open takes the directory's lock file; raises
        `StoreLockedError` if another process holds it, `StoreError` if the
        directory cannot be used.
        """
        data_dir = Path(path)
        if not create and not (data_dir / "data.mdb").is_file():
            raise StoreError(f"no phonefarm store in {data_dir}")
        lock_fd = None
        try:
            if not readonly:
                data_dir.mkdir(parents=True, exist_ok=True)
                lock_fd = _lock_directory(data_dir)
            env, dbs = _open_environment(data_dir, map_size=map_size, readonly=readonly)
        except lmdb.NotFoundError as exc:
            _unlock(lock_fd)
            raise StoreError(f"no phonefarm store in {data_dir}") from exc
        except lmdb.Error as exc:
            _unlock(lock_fd)
            raise StoreError(f"cannot open store in {data_dir}: {exc}") from exc
        except OSError as exc:
            _unlock(lock_fd)
            raise StoreError(
                f"cannot use data directory {data_dir}: {exc.strerror}"
            ) from exc
        except PhonefarmError:
            _unlock(lock_fd)
            raise
        return cls(env, dbs, lock_fd)

    @property
    def map_size_bytes(self) -> int:
        return self._env.info()["map_size"]

    def close(self) -> None:
        self._env.close()
        _unlock(self._lock_fd)
        self._lock_fd = None

    # -- writing ---------------------------------------------------------

    def apply(self, commands: Sequence[Command], now_us: int) -> list[Outcome]:
        """Decide and commit a batch of commands in one durable transaction.

        Returns one outcome per command, in order. Raises `StoreFullError`
        or `StoreError` if the batch could not be committed; then nothing
        of it was written. Grows the map and retries when it is full.
        """
        while True:
            try:
                with self._gate.shared():
                    return self._apply_once(commands, now_us)
            except lmdb.MapFullError:
                self._grow_map()
            except lmdb.Error as exc:
                raise _store_error(exc) from exc

    def _apply_once(self, commands: Sequence[Command], now_us: int) -> list[Outcome]:
        outcomes: list[Outcome] = []
        with self._env.begin(write=True) as txn:
            view = _TxnView(txn, self._dbs)
            projector = Projector(txn, self._dbs)
            seq = read_meta_int(txn, self._dbs, _META_LAST_SEQ, 0)
            for command in commands:
                try:
                    events = decide(view, command, now_us=now_us)
                except RequestError as exc:
                    outcomes.append(exc)
                    continue
                recorded = []
                for event in events:
                    seq += 1
                    record = Recorded(seq=seq, at_us=now_us, event=event)
                    txn.put(
                        pack_u64(seq), encode_event(now_us, event), db=self._dbs.events
                    )
                    projector.apply(record)
                    recorded.append(record)
                outcomes.append(recorded)
        return outcomes

    def _grow_map(self) -> None:
        with self._gate.exclusive():
            new_size = self._env.info()["map_size"] * 2
            self._env.set_mapsize(new_size)
        log.info("store map grown map_size_bytes=%d", new_size)

    def rebuild(self, progress: Progress | None = None) -> int:
        """Replace every projection with a replay of the log; return the event count."""
        while True:
            try:
                with self._gate.shared():
                    return rebuild_in_place(self._env, self._dbs, progress)
            except lmdb.MapFullError:
                self._grow_map()
            except lmdb.Error as exc:
                raise _store_error(exc) from exc

    def check(self, progress: Progress | None = None) -> list[Difference]:
        """Compare the projections with a replay of the log; [] when they agree.

        Raises `StoreError` if the scratch copy cannot be written (a full disk).
        """
        try:
            return self._read(
                lambda txn: check_projections(txn, self._dbs, _open_scratch, progress)
            )
        except lmdb.Error as exc:
            raise _store_error(exc) from exc

    # -- reading ---------------------------------------------------------

    def _read(self, fn: Callable[[lmdb.Transaction], T]) -> T:
        """Run `fn` in a read transaction, adopting a map another process grew."""
        while True:
            try:
                with self._gate.shared(), self._env.begin() as txn:
                    return fn(txn)
            except lmdb.MapResizedError:
                with self._gate.exclusive():
                    self._env.set_mapsize(0)

    def task(self, task_id: int) -> Task | None:
        return self._read(lambda txn: read_task(txn, self._dbs, task_id))

    def task_as_of(self, task_id: int, seq: int) -> Task | None:
        """The task as it was right after event `seq`, deleted tasks included.

        Folds the task's history; for answering with the state a command
        committed when a later one (a delete) has changed it since.
        """
        task = None
        for record in self.task_history(task_id):
            if record.seq > seq:
                break
            if isinstance(record.event, TaskCreated):
                task = created(record)
            elif isinstance(record.event, TaskDeleted):
                task = None
            elif task is not None:
                task = evolve(task, record)
        return task

    def task_serial(self, task_id: int) -> str | None:
        """The phone a task was created for, deleted tasks included."""
        history = self.task_history(task_id, limit=1)
        if history and isinstance(history[0].event, TaskCreated):
            return history[0].event.serial
        return None

    def list_tasks(
        self, filters: dict[str, object], *, offset: int, limit: int
    ) -> tuple[list[Task], int]:
        """One page of the tasks matching every filter, newest first, and the total."""
        prefix = keys.filter_prefix(filters)

        def page(txn: lmdb.Transaction) -> tuple[list[Task], int]:
            total = read_counter(txn, self._dbs, prefix)
            if offset >= total:
                return [], total
            cursor = txn.cursor(db=self._dbs.task_index)
            found = cursor.set_range(prefix)
            for _ in range(offset):
                found = found and cursor.next()
            tasks: list[Task] = []
            while found and len(tasks) < limit:
                key = cursor.key()
                if not key.startswith(prefix):
                    break
                task = read_task(txn, self._dbs, keys.task_id_of_index_key(key))
                if task is not None:
                    tasks.append(task)
                found = cursor.next()
            return tasks, total

        return self._read(page)

    def stats(self) -> dict[str, int]:
        """Counts of all tasks and of each status."""

        def counts(txn: lmdb.Transaction) -> dict[str, int]:
            result = {"total": read_counter(txn, self._dbs, keys.filter_prefix({}))}
            for status in TaskStatus:
                prefix = keys.filter_prefix({"status": int(status)})
                result[status.text] = read_counter(txn, self._dbs, prefix)
            return result

        return self._read(counts)

    def next_due(self, serial: str) -> tuple[int, int] | None:
        """The serial's pending task due first, as (scheduled_at_us, task_id)."""
        prefix = keys.serial_prefix(serial)

        def first(txn: lmdb.Transaction) -> tuple[int, int] | None:
            cursor = txn.cursor(db=self._dbs.due)
            if cursor.set_range(prefix) and cursor.key().startswith(prefix):
                return keys.parse_due_key(cursor.key())
            return None

        return self._read(first)

    def device(self, serial: str) -> Device | None:
        return self._read(lambda txn: read_device(txn, self._dbs, serial))

    def devices(self) -> list[Device]:
        return self._read(lambda txn: read_devices(txn, self._dbs))

    def account(self, username: str) -> Account | None:
        """The account a username names, with or without "@", in any case."""
        key = normalise_username(username)
        return self._read(lambda txn: read_account(txn, self._dbs, key))

    def accounts(self, serial: str | None = None) -> list[Account]:
        """Every account (on one phone, if `serial`), by normalised username."""
        found = self._read(lambda txn: read_accounts(txn, self._dbs))
        return found if serial is None else [a for a in found if a.serial == serial]

    def accepted_request(self, key: str) -> AcceptedRequest | None:
        return self._read(lambda txn: read_accepted_request(txn, self._dbs, key))

    def last_seq(self) -> int:
        return self._read(lambda txn: read_meta_int(txn, self._dbs, _META_LAST_SEQ, 0))

    def events_after(self, seq: int, limit: int) -> list[Recorded]:
        """Up to `limit` events with a sequence number above `seq`, in log order."""

        def walk(txn: lmdb.Transaction) -> list[Recorded]:
            cursor = txn.cursor(db=self._dbs.events)
            result: list[Recorded] = []
            if not cursor.set_range(pack_u64(seq + 1)):
                return result
            for key, value in cursor:
                result.append(decode_record(key, value))
                if len(result) >= limit:
                    break
            return result

        return self._read(walk)

    def task_history(self, task_id: int, *, limit: int | None = None) -> list[Recorded]:
        """Every event of one task (or its first `limit`), deleted tasks included."""
        prefix = pack_u64(task_id)

        def walk(txn: lmdb.Transaction) -> list[Recorded]:
            cursor = txn.cursor(db=self._dbs.history)
            result: list[Recorded] = []
            if not cursor.set_range(prefix):
                return result
            for key in cursor.iternext(keys=True, values=False):
                if not key.startswith(prefix):
                    break
                seq_key = key[8:]
                result.append(
                    decode_record(seq_key, txn.get(seq_key, db=self._dbs.events))
                )
                if limit is not None and len(result) >= limit:
                    break
            return result

        return self._read(walk)

    def iter_events(self, batch_size: int = 1000) -> Iterator[Recorded]:
        """Every event in log order, read in batches of short transactions."""
        after = 0
        while batch := self.events_after(after, batch_size):
            yield from batch
            after = batch[-1].seq


class _TxnView(StateView):
    """The state `decide` reads: the open write transaction, own writes included."""

    def __init__(self, txn: lmdb.Transaction, dbs: Databases) -> None:
        self._txn = txn
        self._dbs = dbs

    def task(self, task_id: int) -> Task | None:
        return read_task(self._txn, self._dbs, task_id)

    def next_task_id(self) -> int:
        return read_meta_int(self._txn, self._dbs, META_NEXT_TASK_ID, 1)

    def running_tasks(self) -> list[Task]:
        prefix = keys.filter_prefix({"status": int(TaskStatus.RUNNING)})
        cursor = self._txn.cursor(db=self._dbs.task_index)
        tasks = []
        found = cursor.set_range(prefix)
        while found and cursor.key().startswith(prefix):
            task = read_task(
                self._txn, self._dbs, keys.task_id_of_index_key(cursor.key())
            )
            if task is not None:
                tasks.append(task)
            found = cursor.next()
        return tasks

    def device(self, serial: str) -> Device | None:
        return read_device(self._txn, self._dbs, serial)

    def account(self, username: str) -> Account | None:
        return read_account(self._txn, self._dbs, username)

    def accepted_request(self, key: str) -> AcceptedRequest | None:
        return read_accepted_request(self._txn, self._dbs, key)


def _open_environment(
    data_dir: Path, *, map_size: int, readonly: bool, sync: bool = True
) -> tuple[lmdb.Environment, Databases]:
    env = lmdb.open(
        str(data_dir),
        map_size=map_size,
        max_dbs=len(DATABASE_NAMES),
        readonly=readonly,
        lock=True,
        sync=sync,
        metasync=sync,
    )
    try:
        stale = env.reader_check()
        if stale:
            log.warning("cleared stale reader slots count=%d", stale)
        if readonly:
            # A handle opened inside a read transaction dies with it (py-lmdb
            # aborts read transactions on exit), so let open_db run its own.
            dbs = Databases(
                *(env.open_db(name.encode(), create=False) for name in DATABASE_NAMES)
            )
        else:
            with env.begin(write=True) as txn:
                dbs = Databases(
                    *(env.open_db(name.encode(), txn=txn) for name in DATABASE_NAMES)
                )
                _check_schema(txn, dbs)
    except BaseException:
        env.close()
        raise
    return env, dbs


def _open_scratch(path: Path) -> tuple[lmdb.Environment, Databases]:
    """A throwaway environment for `check`; it need not survive a crash."""
    return _open_environment(
        path, map_size=DEFAULT_MAP_SIZE_BYTES, readonly=False, sync=False
    )


def _check_schema(txn: lmdb.Transaction, dbs: Databases) -> None:
    raw = txn.get(META_SCHEMA_VERSION, db=dbs.meta)
    if raw is None:
        txn.put(META_SCHEMA_VERSION, pack_u64(SCHEMA_VERSION), db=dbs.meta)
        return
    found = unpack_u64(raw)
    if found > SCHEMA_VERSION:
        raise StoreError(
            f"store schema {found} is newer than this phonefarm's ({SCHEMA_VERSION})"
        )


def _lock_directory(data_dir: Path) -> int:
    fd = os.open(data_dir / LOCK_FILE_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError as exc:
        os.close(fd)
        raise StoreLockedError(str(data_dir)) from exc
    return fd


def _unlock(fd: int | None) -> None:
    if fd is not None:
        os.close(fd)


def _store_error(exc: lmdb.Error) -> StoreError:
    # What a commit meets when the disk has no room: ENOSPC (lmdb.DiskError),
    # EDQUOT, EFBIG past a file size limit, and EIO for a write that came up
    # short, which is how a disk filling mid-commit usually shows: LMDB
    # turns a short write into EIO, noting "short write, filesystem full?".
    # A failing disk says EIO too, hence the hedge in that reason. py-lmdb
    # puts the errno in `code`.
    full_disk_reasons = {
        errno.ENOSPC: "no space left on device",
        errno.EDQUOT: "disk quota exceeded",
        errno.EFBIG: "file size limit reached",
        errno.EIO: "a disk write came up short (is the disk full?)",
    }
    code = errno.ENOSPC if isinstance(exc, lmdb.DiskError) else getattr(exc, "code", 0)
    reason = full_disk_reasons.get(code)
    if reason is not None:
        return StoreFullError(reason)
    return StoreError(str(exc))
