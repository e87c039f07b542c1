"""Task state and `evolve`, the pure fold of events into it."""

from __future__ import annotations

import enum
from typing import Any

import msgspec

from phonefarm.core.events import (
    Recorded,
    TaskCompleted,
    TaskCreated,
    TaskFailed,
    TaskRetried,
    TaskStarted,
    TaskStopped,
)


class TaskStatus(enum.IntEnum):
    """The four statuses TikMatrix clients know; nothing else appears."""

    PENDING = 0
    RUNNING = 1
    COMPLETED = 2
    FAILED = 3

    @property
    def text(self) -> str:
        return self.name.lower()


class Task(msgspec.Struct, frozen=True, kw_only=True):
    """A task as its projection stores it; times are µs since the epoch (UTC)."""

    id: int
    serial: str
    username: str | None
    platform: str
    script_name: str
    script_config: dict[str, Any]
    source: str
    enable_multi_account: bool
    start_time: str | None
    scheduled_at_us: int
    created_at_us: int
    min_interval: int
    max_interval: int
    status: TaskStatus = TaskStatus.PENDING
    attempts: int = 1
    started_at_us: int | None = None
    finished_at_us: int | None = None
    error: str | None = None

    @property
    def is_active(self) -> bool:
        return self.status in (TaskStatus.PENDING, TaskStatus.RUNNING)


def created(record: Recorded) -> Task:
    """Build a task from the `TaskCreated` record that starts its history."""
    event = record.event
    assert isinstance(event, TaskCreated)
    return Task(
        id=event.task_id,
        serial=event.serial,
        username=event.username,
        platform=event.platform,
        script_name=event.script_name,
        script_config=event.script_config,
        source=event.source,
        enable_multi_account=event.enable_multi_account,
        start_time=event.start_time,
        scheduled_at_us=event.scheduled_at_us,
        created_at_us=record.at_us,
        min_interval=event.min_interval,
        max_interval=event.max_interval,
    )


def evolve(task: Task, record: Recorded) -> Task:
    """Return the task after one more of its events.

    Pure and total over the events `decide` emits for an existing task; an
    event that does not change a task's fields (none yet) returns it as is.
    """
    match record.event:
        case TaskStarted(attempt=attempt):
            return msgspec.structs.replace(
                task,
                status=TaskStatus.RUNNING,
                attempts=attempt,
                started_at_us=record.at_us,
                finished_at_us=None,
                error=None,
            )
        case TaskCompleted():
            return msgspec.structs.replace(
                task, status=TaskStatus.COMPLETED, finished_at_us=record.at_us
            )
        case TaskFailed(error=error) | TaskStopped(reason=error):
            return msgspec.structs.replace(
                task,
                status=TaskStatus.FAILED,
                finished_at_us=record.at_us,
                error=error,
            )
        case TaskRetried(attempt=attempt):
            return msgspec.structs.replace(
                task,
                status=TaskStatus.PENDING,
                attempts=attempt,
                started_at_us=None,
                finished_at_us=None,
                error=None,
            )
    return task
