"""The facts the event log records.

Every event is a frozen msgspec Struct with an explicit tag of the form
`<type>/<version>`, e.g. `task.created/1`. The tag is what is stored, so a
class can be renamed freely; a change to an event's fields that old data
cannot decode into bumps the version. The rules for evolving an event are
msgspec's: a new field gets a default, no field changes type. An event
whose shape changed beyond that keeps its old class in `core/upcast.py`,
which turns it into the current one on read.

Events carry no time of their own: the log wraps each one in a `Recorded`
with its sequence number and the moment the writer committed it.
"""

from __future__ import annotations

from typing import Any

import msgspec


class Event(msgspec.Struct, frozen=True, kw_only=True, tag_field="type"):
    """Base of every event; `type_name` and `version` come from the tag."""

    @classmethod
    def type_name(cls) -> str:
        return cls._tag().partition("/")[0]

    @classmethod
    def version(cls) -> int:
        return int(cls._tag().partition("/")[2])

    @classmethod
    def _tag(cls) -> str:
        return cls.__struct_config__.tag  # type: ignore[return-value]


class TaskCreated(Event, frozen=True, kw_only=True, tag="task.created/1"):
    task_id: int
    serial: str
    username: str | None
    platform: str
    script_name: str
    script_config: dict[str, Any]
    source: str
    enable_multi_account: bool = False
    start_time: str | None = None
    scheduled_at_us: int
    min_interval: int = 0
    max_interval: int = 0


class TaskStarted(Event, frozen=True, kw_only=True, tag="task.started/1"):
    task_id: int
    serial: str
    attempt: int


class TaskCompleted(Event, frozen=True, kw_only=True, tag="task.completed/1"):
    task_id: int
    attempt: int


class TaskFailed(Event, frozen=True, kw_only=True, tag="task.failed/1"):
    """The attempt ended in failure: a script error, a lost phone, a restart."""

    task_id: int
    attempt: int
    error: str


class TaskStopped(Event, frozen=True, kw_only=True, tag="task.stopped/1"):
    """A user stopped the task; it reads as failed with `error` = reason."""

    task_id: int
    reason: str


class TaskRetried(Event, frozen=True, kw_only=True, tag="task.retried/1"):
    task_id: int
    attempt: int


class TaskDeleted(Event, frozen=True, kw_only=True, tag="task.deleted/1"):
    """Tombstone: projections forget the task, the log keeps its history."""

    task_id: int


class DeviceConnected(Event, frozen=True, kw_only=True, tag="device.connected/1"):
    serial: str
    model: str
    driver: str


class DeviceDisconnected(Event, frozen=True, kw_only=True, tag="device.disconnected/1"):
    serial: str
    reason: str


class DevicePaused(Event, frozen=True, kw_only=True, tag="device.paused/1"):
    """The phone rests before its next task, as that task's interval asks.

    `pause_ms` was drawn from the task's `[min_interval, max_interval]`
    minutes; the phone starts nothing before `until_us`.
    """

    serial: str
    task_id: int
    pause_ms: int
    until_us: int


class AccountAdded(Event, frozen=True, kw_only=True, tag="account.added/1"):
    """An account (one app login) now lives on a phone.

    `username` is as the user wrote it, without a leading "@"; accounts are
    unique by its normalised form (lowercase), across platforms.
    """

    username: str
    serial: str
    platform: str


class AccountRemoved(Event, frozen=True, kw_only=True, tag="account.removed/1"):
    username: str
    serial: str = ""  # the phone it was on; added later, "" in older events


class RequestAccepted(Event, frozen=True, kw_only=True, tag="request.accepted/1"):
    """A create request with an `Idempotency-Key` was carried out.

    Recorded in the same transaction as its tasks, so a repeat of the
    request within the key's lifetime answers these ids and creates nothing.
    """

    key: str
    body_sha256: str
    task_ids: list[int]


AnyEvent = (
    TaskCreated
    | TaskStarted
    | TaskCompleted
    | TaskFailed
    | TaskStopped
    | TaskRetried
    | TaskDeleted
    | DeviceConnected
    | DeviceDisconnected
    | DevicePaused
    | AccountAdded
    | AccountRemoved
    | RequestAccepted
)

CURRENT_EVENT_TYPES: tuple[type[Event], ...] = AnyEvent.__args__  # type: ignore[attr-defined]


class Recorded(msgspec.Struct, frozen=True, kw_only=True):
    """One entry of the log: an event, where it sits and when it was committed."""

    seq: int
    at_us: int
    event: AnyEvent

    @property
    def task_id(self) -> int | None:
        return getattr(self.event, "task_id", None)

    @property
    def serial(self) -> str | None:
        return getattr(self.event, "serial", None)
