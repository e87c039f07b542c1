"""One log line per task transition and device change, read from the log.

Lines come from the committed events rather than from the code paths that
cause them, so every transition is logged exactly once, whoever caused it
(a phone, a user, a restart), and only once it is on disk. Task creation
is the exception: a request may create 10,000 tasks, so the HTTP layer
logs one line per request and this logger keeps `task.created` at DEBUG.
"""

from __future__ import annotations

import logging

from phonefarm.actors.writer import Writer
from phonefarm.core.events import (
    AccountAdded,
    AccountRemoved,
    DeviceConnected,
    DeviceDisconnected,
    DevicePaused,
    Recorded,
    TaskCompleted,
    TaskCreated,
    TaskDeleted,
    TaskFailed,
    TaskRetried,
    TaskStarted,
    TaskStopped,
)
from phonefarm.core.store import Store

log = logging.getLogger("phonefarm.transitions")

_BATCH = 1000


class TransitionLog:
    """Logs the events committed after the moment it was made."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._seen_seq = store.last_seq()

    def catch_up(self) -> None:
        """Log everything committed since the last call; synchronous."""
        while batch := self._store.events_after(self._seen_seq, _BATCH):
            for record in batch:
                _log_one(self._store, record)
            self._seen_seq = batch[-1].seq

    async def run(self, writer: Writer) -> None:
        """Log each commit as it lands; runs until cancelled."""
        while True:
            await writer.wait_for_commit(self._seen_seq)
            self.catch_up()


def _log_one(store: Store, record: Recorded) -> None:
    event = record.event
    match event:
        case TaskCreated(task_id=task_id, serial=serial, script_name=script):
            log.debug(
                "task created task_id=%s serial=%s script=%s", task_id, serial, script
            )
        case TaskStarted(task_id=task_id, serial=serial, attempt=attempt):
            log.info(
                "task started task_id=%s serial=%s attempt=%s", task_id, serial, attempt
            )
        case TaskCompleted(task_id=task_id):
            log.info(
                "task completed task_id=%s serial=%s duration_s=%s",
                task_id,
                _serial(store, task_id),
                _duration_s(store, task_id, record),
            )
        case TaskFailed(task_id=task_id, error=error):
            log.info(
                "task failed task_id=%s serial=%s duration_s=%s error=%s",
                task_id,
                _serial(store, task_id),
                _duration_s(store, task_id, record),
                error,
            )
        case TaskStopped(task_id=task_id, reason=reason):
            log.info(
                "task stopped task_id=%s serial=%s reason=%s",
                task_id,
                _serial(store, task_id),
                reason,
            )
        case TaskRetried(task_id=task_id, attempt=attempt):
            log.info(
                "task retried task_id=%s serial=%s attempt=%s",
                task_id,
                _serial(store, task_id),
                attempt,
            )
        case TaskDeleted(task_id=task_id):
            log.info(
                "task deleted task_id=%s serial=%s", task_id, _serial(store, task_id)
            )
        case DeviceConnected(serial=serial, model=model, driver=driver):
            log.info(
                "device connected serial=%s model=%s driver=%s", serial, model, driver
            )
        case DeviceDisconnected(serial=serial, reason=reason):
            log.warning("device disconnected serial=%s reason=%s", serial, reason)
        case DevicePaused(serial=serial, task_id=task_id, pause_ms=pause_ms):
            log.info(
                "device resting serial=%s before_task_id=%s pause_s=%.0f",
                serial,
                task_id,
                pause_ms / 1000,
            )
        case AccountAdded(username=username, serial=serial, platform=platform):
            log.info(
                "account added username=%s serial=%s platform=%s",
                username,
                serial,
                platform,
            )
        case AccountRemoved(username=username):
            log.info("account removed username=%s", username)


def _serial(store: Store, task_id: int) -> str | None:
    return store.task_serial(task_id)


def _duration_s(store: Store, task_id: int, record: Recorded) -> str:
    """Seconds since the attempt started, or "-" if it never did."""
    task = store.task(task_id)
    if task is None or task.started_at_us is None:
        return "-"
    return f"{(record.at_us - task.started_at_us) / 1_000_000:.1f}"
