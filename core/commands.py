"""Commands: what callers ask the writer to do. `core/rules.py` decides them."""

from __future__ import annotations

from typing import Any, Protocol

import msgspec

from phonefarm.core.task import Task


class TaskSpec(msgspec.Struct, frozen=True, kw_only=True):
    """One task to create, validated and fully resolved (spintax, schedule)."""

    serial: str
    username: str | None
    platform: str
    script_name: str
    script_config: dict[str, Any]
    source: str
    enable_multi_account: bool
    start_time: str | None
    scheduled_at_us: int
    min_interval: int
    max_interval: int


class IdempotencyKey(msgspec.Struct, frozen=True):
    """The client's `Idempotency-Key` and the digest of the body it came with."""

    key: str
    body_sha256: str


class CreateTasks(msgspec.Struct, frozen=True):
    """Create every spec, with consecutive ids, or none of them."""

    specs: list[TaskSpec]
    idempotency: IdempotencyKey | None = None


class StartTask(msgspec.Struct, frozen=True):
    task_id: int
    serial: str


class CompleteTask(msgspec.Struct, frozen=True):
    task_id: int
    attempt: int


class FailTask(msgspec.Struct, frozen=True):
    task_id: int
    attempt: int
    error: str


class StopTask(msgspec.Struct, frozen=True):
    task_id: int
    reason: str = "stopped by user"


class RetryTask(msgspec.Struct, frozen=True):
    task_id: int


class DeleteTask(msgspec.Struct, frozen=True):
    task_id: int


class PauseDevice(msgspec.Struct, frozen=True):
    """Rest a phone for `pause_ms` before it starts `task_id` (its interval)."""

    serial: str
    task_id: int
    pause_ms: int


class AddAccount(msgspec.Struct, frozen=True):
    serial: str
    username: str
    platform: str


class RemoveAccount(msgspec.Struct, frozen=True):
    username: str


class InterruptRunning(msgspec.Struct, frozen=True):
    """Fail every running task: the process that ran them is gone or going."""

    reason: str


class MarkDeviceOnline(msgspec.Struct, frozen=True):
    serial: str
    model: str
    driver: str


class MarkDeviceOffline(msgspec.Struct, frozen=True):
    serial: str
    reason: str


Command = (
    CreateTasks
    | StartTask
    | CompleteTask
    | FailTask
    | StopTask
    | RetryTask
    | DeleteTask
    | InterruptRunning
    | MarkDeviceOnline
    | MarkDeviceOffline
    | PauseDevice
    | AddAccount
    | RemoveAccount
)


class Device(msgspec.Struct, frozen=True, kw_only=True):
    """A phone as the devices projection stores it."""

    serial: str
    model: str
    driver: str
    online: bool
    paused_until_us: int = 0


class Account(msgspec.Struct, frozen=True, kw_only=True):
    """An app account on a phone, as the accounts projection stores it."""

    username: str
    serial: str
    platform: str


class AcceptedRequest(msgspec.Struct, frozen=True, kw_only=True):
    """What an idempotency key remembers: the body's digest and its tasks."""

    body_sha256: str
    task_ids: list[int]
    accepted_at_us: int


class StateView(Protocol):
    """The current state `decide` may read: the store's open write transaction."""

    def task(self, task_id: int) -> Task | None: ...

    def next_task_id(self) -> int: ...

    def running_tasks(self) -> list[Task]: ...

    def device(self, serial: str) -> Device | None: ...

    def account(self, username: str) -> Account | None:
        """The account whose normalised username this is."""

    def accepted_request(self, key: str) -> AcceptedRequest | None: ...
