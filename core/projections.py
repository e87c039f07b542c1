"""Projections: derived state, updated from events inside the writer's transaction.

`Projector.apply` folds one recorded event into every projection: the task
table, its list index and counters, the per-serial due queue, the per-task
history, the device table and `meta`'s last applied `seq`. The live writer
and `rebuild` call the same code, which is what makes a rebuilt store equal
the live one byte for byte.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import lmdb
import msgspec

from phonefarm.core import keys
from phonefarm.core.accounts import normalise_username
from phonefarm.core.codec import pack_u64, unpack_u64
from phonefarm.core.commands import AcceptedRequest, Account, Device
from phonefarm.core.events import (
    AccountAdded,
    AccountRemoved,
    DeviceConnected,
    DeviceDisconnected,
    DevicePaused,
    Recorded,
    RequestAccepted,
    TaskCreated,
    TaskDeleted,
)
from phonefarm.core.task import Task, TaskStatus, created, evolve

META_LAST_SEQ = b"last_seq"
META_NEXT_TASK_ID = b"next_task_id"
META_SCHEMA_VERSION = b"schema_version"

_task_decoder = msgspec.msgpack.Decoder(Task)
_device_decoder = msgspec.msgpack.Decoder(Device)
_account_decoder = msgspec.msgpack.Decoder(Account)
_request_decoder = msgspec.msgpack.Decoder(AcceptedRequest)
_encode = msgspec.msgpack.Encoder().encode


class Databases(NamedTuple):
    """Handles of the named databases; `PROJECTIONS` are rebuildable from `events`."""

    events: Any
    history: Any
    tasks: Any
    task_index: Any
    task_counts: Any
    due: Any
    devices: Any
    accounts: Any
    requests: Any
    meta: Any

    @property
    def projections(self) -> tuple[Any, ...]:
        return (
            self.history,
            self.tasks,
            self.task_index,
            self.task_counts,
            self.due,
            self.devices,
            self.accounts,
            self.requests,
            self.meta,
        )


DATABASE_NAMES = Databases._fields
PROJECTION_NAMES = tuple(n for n in DATABASE_NAMES if n != "events")


def filter_values(task: Task) -> tuple[object, ...]:
    return (int(task.status), task.serial, task.script_name, task.source)


def read_task(txn: lmdb.Transaction, dbs: Databases, task_id: int) -> Task | None:
    raw = txn.get(keys.task_key(task_id), db=dbs.tasks)
    return None if raw is None else _task_decoder.decode(raw)


def read_device(txn: lmdb.Transaction, dbs: Databases, serial: str) -> Device | None:
    raw = txn.get(serial.encode(), db=dbs.devices)
    return None if raw is None else _device_decoder.decode(raw)


def read_devices(txn: lmdb.Transaction, dbs: Databases) -> list[Device]:
    return [_device_decoder.decode(value) for _, value in txn.cursor(db=dbs.devices)]


def read_account(
    txn: lmdb.Transaction, dbs: Databases, username: str
) -> Account | None:
    """The account with this normalised username."""
    raw = txn.get(username.encode(), db=dbs.accounts)
    return None if raw is None else _account_decoder.decode(raw)


def read_accounts(txn: lmdb.Transaction, dbs: Databases) -> list[Account]:
    """Every account, ordered by normalised username."""
    return [_account_decoder.decode(value) for _, value in txn.cursor(db=dbs.accounts)]


def read_accepted_request(
    txn: lmdb.Transaction, dbs: Databases, key: str
) -> AcceptedRequest | None:
    raw = txn.get(key.encode(), db=dbs.requests)
    return None if raw is None else _request_decoder.decode(raw)


def read_counter(txn: lmdb.Transaction, dbs: Databases, prefix: bytes) -> int:
    raw = txn.get(prefix, db=dbs.task_counts)
    return 0 if raw is None else unpack_u64(raw)


def read_meta_int(
    txn: lmdb.Transaction, dbs: Databases, key: bytes, default: int
) -> int:
    raw = txn.get(key, db=dbs.meta)
    return default if raw is None else unpack_u64(raw)


class Projector:
    """Applies recorded events to the projections of one write transaction."""

    def __init__(self, txn: lmdb.Transaction, dbs: Databases) -> None:
        self._txn = txn
        self._dbs = dbs

    def apply(self, record: Recorded) -> None:
        event = record.event
        task_id = record.task_id
        if task_id is not None:
            self._txn.put(
                keys.history_key(task_id, record.seq), b"", db=self._dbs.history
            )
        match event:
            case TaskCreated():
                self._add_task(created(record))
            case TaskDeleted():
                task = read_task(self._txn, self._dbs, event.task_id)
                if task is not None:
                    self._remove_task(task)
            case DeviceConnected(serial=serial, model=model, driver=driver):
                known = read_device(self._txn, self._dbs, serial)
                device = Device(
                    serial=serial,
                    model=model,
                    driver=driver,
                    online=True,
                    paused_until_us=known.paused_until_us if known else 0,
                )
                self._put_device(device)
            case DeviceDisconnected(serial=serial):
                known = read_device(self._txn, self._dbs, serial)
                if known is not None:
                    self._put_device(msgspec.structs.replace(known, online=False))
            case DevicePaused(serial=serial, until_us=until_us):
                known = read_device(self._txn, self._dbs, serial)
                if known is not None:
                    paused = msgspec.structs.replace(known, paused_until_us=until_us)
                    self._put_device(paused)
            case AccountAdded(username=username, serial=serial, platform=platform):
                account = Account(username=username, serial=serial, platform=platform)
                key = normalise_username(username).encode()
                self._txn.put(key, _encode(account), db=self._dbs.accounts)
            case AccountRemoved(username=username):
                key = normalise_username(username).encode()
                self._txn.delete(key, db=self._dbs.accounts)
            case RequestAccepted(key=key, body_sha256=digest, task_ids=task_ids):
                accepted = AcceptedRequest(
                    body_sha256=digest, task_ids=task_ids, accepted_at_us=record.at_us
                )
                self._txn.put(key.encode(), _encode(accepted), db=self._dbs.requests)
            case _ if task_id is not None:
                task = read_task(self._txn, self._dbs, task_id)
                if task is not None:
                    self._replace_task(task, evolve(task, record))
        self._txn.put(META_LAST_SEQ, pack_u64(record.seq), db=self._dbs.meta)

    def _add_task(self, task: Task) -> None:
        self._put_task(task)
        for prefix in keys.task_prefixes(filter_values(task)):
            self._index_add(prefix, task.id)
        if task.status is TaskStatus.PENDING:
            self._due_add(task)
        next_id = read_meta_int(self._txn, self._dbs, META_NEXT_TASK_ID, 1)
        if task.id >= next_id:
            self._txn.put(META_NEXT_TASK_ID, pack_u64(task.id + 1), db=self._dbs.meta)

    def _remove_task(self, task: Task) -> None:
        self._txn.delete(keys.task_key(task.id), db=self._dbs.tasks)
        for prefix in keys.task_prefixes(filter_values(task)):
            self._index_remove(prefix, task.id)
        if task.status is TaskStatus.PENDING:
            self._due_remove(task)

    def _replace_task(self, old: Task, new: Task) -> None:
        self._put_task(new)
        if old.status is new.status:
            return
        for prefix in keys.task_prefixes(filter_values(old), status_only=True):
            self._index_remove(prefix, old.id)
        for prefix in keys.task_prefixes(filter_values(new), status_only=True):
            self._index_add(prefix, new.id)
        if old.status is TaskStatus.PENDING:
            self._due_remove(old)
        if new.status is TaskStatus.PENDING:
            self._due_add(new)

    def _put_task(self, task: Task) -> None:
        self._txn.put(keys.task_key(task.id), _encode(task), db=self._dbs.tasks)

    def _put_device(self, device: Device) -> None:
        self._txn.put(device.serial.encode(), _encode(device), db=self._dbs.devices)

    def _index_add(self, prefix: bytes, task_id: int) -> None:
        self._txn.put(keys.index_key(prefix, task_id), b"", db=self._dbs.task_index)
        self._count(prefix, +1)

    def _index_remove(self, prefix: bytes, task_id: int) -> None:
        self._txn.delete(keys.index_key(prefix, task_id), db=self._dbs.task_index)
        self._count(prefix, -1)

    def _count(self, prefix: bytes, delta: int) -> None:
        value = read_counter(self._txn, self._dbs, prefix) + delta
        if value:
            self._txn.put(prefix, pack_u64(value), db=self._dbs.task_counts)
        else:
            self._txn.delete(prefix, db=self._dbs.task_counts)

    def _due_add(self, task: Task) -> None:
        key = keys.due_key(task.serial, task.scheduled_at_us, task.id)
        self._txn.put(key, b"", db=self._dbs.due)

    def _due_remove(self, task: Task) -> None:
        key = keys.due_key(task.serial, task.scheduled_at_us, task.id)
        self._txn.delete(key, db=self._dbs.due)
