"""A stored `Task` → the task object of API.md."""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec

from phonefarm.core.clock import iso_from_us
from phonefarm.core.task import Task


class TaskObject(msgspec.Struct, frozen=True, kw_only=True):
    """A task as the API shows it; times are ISO 8601 with the server's offset."""

    id: int
    serial: str
    username: str | None
    platform: str
    script_name: str
    script_config: dict[str, Any]
    status: int
    status_text: str
    source: str
    enable_multi_account: bool
    start_time: str | None
    scheduled_at: str
    created_at: str
    started_at: str | None
    finished_at: str | None
    attempts: int
    error: str | None
    min_interval: int
    max_interval: int


def task_object(task: Task, tz: dt.tzinfo) -> TaskObject:
    return TaskObject(
        id=task.id,
        serial=task.serial,
        username=task.username,
        platform=task.platform,
        script_name=task.script_name,
        script_config=task.script_config,
        status=int(task.status),
        status_text=task.status.text,
        source=task.source,
        enable_multi_account=task.enable_multi_account,
        start_time=task.start_time,
        scheduled_at=iso_from_us(task.scheduled_at_us, tz) or "",
        created_at=iso_from_us(task.created_at_us, tz) or "",
        started_at=iso_from_us(task.started_at_us, tz),
        finished_at=iso_from_us(task.finished_at_us, tz),
        attempts=task.attempts,
        error=task.error,
        min_interval=task.min_interval,
        max_interval=task.max_interval,
    )
