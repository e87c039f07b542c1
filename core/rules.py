"""`decide`: the rules that turn a command, given current state, into events.

Pure: it reads state through a `StateView` and returns events, or raises a
`RequestError` having changed nothing. A result that arrives for an attempt
that is no longer running (the task was stopped, retried or deleted
meanwhile) decides to no events: it is late, not wrong.
"""

from __future__ import annotations

from typing import Protocol

from phonefarm.core.accounts import normalise_username
from phonefarm.core.commands import (
    AcceptedRequest,
    AddAccount,
    Command,
    CompleteTask,
    CreateTasks,
    DeleteTask,
    FailTask,
    IdempotencyKey,
    InterruptRunning,
    MarkDeviceOffline,
    MarkDeviceOnline,
    PauseDevice,
    RemoveAccount,
    RetryTask,
    StartTask,
    StateView,
    StopTask,
)
from phonefarm.core.errors import (
    ConflictError,
    DuplicateRequestError,
    InvalidParameterError,
    NotFoundError,
)
from phonefarm.core.events import (
    AccountAdded,
    AccountRemoved,
    DeviceConnected,
    DeviceDisconnected,
    DevicePaused,
    Event,
    RequestAccepted,
    TaskCompleted,
    TaskCreated,
    TaskDeleted,
    TaskFailed,
    TaskRetried,
    TaskStarted,
    TaskStopped,
)
from phonefarm.core.task import Task, TaskStatus

IDEMPOTENCY_WINDOW_US = 24 * 3600 * 1_000_000


def decide(state: StateView, command: Command, *, now_us: int) -> list[Event]:
    """Decide one command at `now_us`, the instant its transaction commits."""
    match command:
        case CreateTasks(specs=specs, idempotency=idempotency):
            if idempotency is not None:
                check_repeat(state, idempotency, now_us)
            first_id = state.next_task_id()
            created: list[Event] = [
                TaskCreated(
                    task_id=first_id + offset,
                    serial=spec.serial,
                    username=spec.username,
                    platform=spec.platform,
                    script_name=spec.script_name,
                    script_config=spec.script_config,
                    source=spec.source,
                    enable_multi_account=spec.enable_multi_account,
                    start_time=spec.start_time,
                    # "As soon as possible" was read from the clock when the
                    # request was validated, a moment before this commit; a
                    # task is never due before it exists.
                    scheduled_at_us=max(spec.scheduled_at_us, now_us),
                    min_interval=spec.min_interval,
                    max_interval=spec.max_interval,
                )
                for offset, spec in enumerate(specs)
            ]
            if idempotency is None:
                return created
            accepted = RequestAccepted(
                key=idempotency.key,
                body_sha256=idempotency.body_sha256,
                task_ids=[first_id + offset for offset in range(len(specs))],
            )
            return [*created, accepted]
        case StartTask(task_id=task_id, serial=serial):
            task = _existing(state, task_id)
            if task.status is not TaskStatus.PENDING:
                raise ConflictError(
                    f"task {task_id} is {task.status.text}, not pending"
                )
            return [TaskStarted(task_id=task_id, serial=serial, attempt=task.attempts)]
        case CompleteTask(task_id=task_id, attempt=attempt):
            if not _is_running_attempt(state.task(task_id), attempt):
                return []
            return [TaskCompleted(task_id=task_id, attempt=attempt)]
        case FailTask(task_id=task_id, attempt=attempt, error=error):
            if not _is_running_attempt(state.task(task_id), attempt):
                return []
            return [TaskFailed(task_id=task_id, attempt=attempt, error=error)]
        case StopTask(task_id=task_id, reason=reason):
            task = _existing(state, task_id)
            if task.status is TaskStatus.COMPLETED:
                raise ConflictError(
                    f"task {task_id} is completed and cannot be stopped"
                )
            if task.status is TaskStatus.FAILED:
                return []
            return [TaskStopped(task_id=task_id, reason=reason)]
        case RetryTask(task_id=task_id):
            task = _existing(state, task_id)
            if task.status is not TaskStatus.FAILED:
                raise ConflictError(
                    f"task {task_id} is {task.status.text}; only failed tasks retry"
                )
            return [TaskRetried(task_id=task_id, attempt=task.attempts + 1)]
        case DeleteTask(task_id=task_id):
            task = _existing(state, task_id)
            stop: list[Event] = []
            if task.status is TaskStatus.RUNNING:
                stop = [TaskStopped(task_id=task_id, reason="stopped by user")]
            return [*stop, TaskDeleted(task_id=task_id)]
        case InterruptRunning(reason=reason):
            return [
                TaskFailed(task_id=task.id, attempt=task.attempts, error=reason)
                for task in state.running_tasks()
            ]
        case MarkDeviceOnline(serial=serial, model=model, driver=driver):
            known = state.device(serial)
            if (
                known
                and known.online
                and (known.model, known.driver) == (model, driver)
            ):
                return []
            return [DeviceConnected(serial=serial, model=model, driver=driver)]
        case MarkDeviceOffline(serial=serial, reason=reason):
            known = state.device(serial)
            if known is None or not known.online:
                return []
            return [DeviceDisconnected(serial=serial, reason=reason)]
        case PauseDevice(serial=serial, task_id=task_id, pause_ms=pause_ms):
            if pause_ms <= 0 or state.device(serial) is None:
                return []
            return [
                DevicePaused(
                    serial=serial,
                    task_id=task_id,
                    pause_ms=pause_ms,
                    until_us=now_us + pause_ms * 1000,
                )
            ]
        case AddAccount(serial=serial, username=username, platform=platform):
            if state.device(serial) is None:
                raise InvalidParameterError("serial", f"unknown serial: {serial}")
            if state.account(normalise_username(username)) is not None:
                raise ConflictError(f"account {username} is already registered")
            return [AccountAdded(username=username, serial=serial, platform=platform)]
        case RemoveAccount(username=username):
            account = state.account(normalise_username(username))
            if account is None:
                raise NotFoundError("account", username)
            return [AccountRemoved(username=account.username, serial=account.serial)]
    raise TypeError(f"unknown command {command!r}")


class AcceptedRequests(Protocol):
    def accepted_request(self, key: str) -> AcceptedRequest | None: ...


def check_repeat(
    state: AcceptedRequests, idempotency: IdempotencyKey, now_us: int
) -> None:
    """Refuse a key seen in the last 24 h.

    Raises `DuplicateRequestError` (carrying the original task ids) for the
    same body, `ConflictError` for another. The HTTP layer calls it before
    validating (a repeat is answered even if its files are gone since), and
    `decide` again inside the transaction, which settles concurrent repeats.
    """
    earlier = state.accepted_request(idempotency.key)
    if earlier is None or now_us - earlier.accepted_at_us >= IDEMPOTENCY_WINDOW_US:
        return
    if earlier.body_sha256 != idempotency.body_sha256:
        raise ConflictError(
            "Idempotency-Key was already used with another body in the last 24 h"
        )
    raise DuplicateRequestError(idempotency.key, earlier.task_ids)


def _existing(state: StateView, task_id: int) -> Task:
    task = state.task(task_id)
    if task is None:
        raise NotFoundError("task", task_id)
    return task


def _is_running_attempt(task: Task | None, attempt: int) -> bool:
    return (
        task is not None
        and task.status is TaskStatus.RUNNING
        and task.attempts == attempt
    )
