"""Builders shared by the tests: task specs, and state folded from events."""

from __future__ import annotations

from typing import Any

import msgspec

from phonefarm.core.accounts import normalise_username
from phonefarm.core.commands import AcceptedRequest, Account, Device, TaskSpec
from phonefarm.core.events import (
    AccountAdded,
    AccountRemoved,
    DeviceConnected,
    DeviceDisconnected,
    DevicePaused,
    Event,
    Recorded,
    RequestAccepted,
    TaskCreated,
    TaskDeleted,
)
from phonefarm.core.task import Task, TaskStatus, created, evolve


def spec(serial: str = "S1", script_name: str = "post", **overrides: Any) -> TaskSpec:
    fields: dict[str, Any] = {
        "serial": serial,
        "username": None,
        "platform": "tiktok",
        "script_name": script_name,
        "script_config": {"captions": "hi", "material_list": ["/tmp/v.mp4"]},
        "source": "api",
        "enable_multi_account": False,
        "start_time": None,
        "scheduled_at_us": 1_000,
        "min_interval": 0,
        "max_interval": 0,
    }
    fields.update(overrides)
    return TaskSpec(**fields)


def created_event(task_id: int, serial: str = "S1", **overrides: Any) -> TaskCreated:
    s = spec(serial, **overrides)
    return TaskCreated(
        task_id=task_id,
        serial=s.serial,
        username=s.username,
        platform=s.platform,
        script_name=s.script_name,
        script_config=s.script_config,
        source=s.source,
        enable_multi_account=s.enable_multi_account,
        start_time=s.start_time,
        scheduled_at_us=s.scheduled_at_us,
        min_interval=s.min_interval,
        max_interval=s.max_interval,
    )


class MemoryState:
    """A `StateView` folded from events with `evolve`: the rules' test bench."""

    def __init__(self, events: list[Event] = ()) -> None:  # type: ignore[assignment]
        self.tasks: dict[int, Task] = {}
        self.devices: dict[str, Device] = {}
        self.accounts: dict[str, Account] = {}
        self.requests: dict[str, AcceptedRequest] = {}
        self._next_id = 1
        for seq, event in enumerate(events, start=1):
            self.record(Recorded(seq=seq, at_us=seq * 1_000, event=event))

    def record(self, record: Recorded) -> None:
        match record.event:
            case TaskCreated(task_id=task_id):
                self.tasks[task_id] = created(record)
                self._next_id = max(self._next_id, task_id + 1)
            case TaskDeleted(task_id=task_id):
                self.tasks.pop(task_id, None)
            case DeviceConnected(serial=serial, model=model, driver=driver):
                known = self.devices.get(serial)
                self.devices[serial] = Device(
                    serial=serial,
                    model=model,
                    driver=driver,
                    online=True,
                    paused_until_us=known.paused_until_us if known else 0,
                )
            case DeviceDisconnected(serial=serial):
                self.devices[serial] = msgspec.structs.replace(
                    self.devices[serial], online=False
                )
            case DevicePaused(serial=serial, until_us=until_us):
                self.devices[serial] = msgspec.structs.replace(
                    self.devices[serial], paused_until_us=until_us
                )
            case AccountAdded(username=username, serial=serial, platform=platform):
                self.accounts[normalise_username(username)] = Account(
                    username=username, serial=serial, platform=platform
                )
            case AccountRemoved(username=username):
                del self.accounts[normalise_username(username)]
            case RequestAccepted(key=key, body_sha256=digest, task_ids=ids):
                self.requests[key] = AcceptedRequest(
                    body_sha256=digest, task_ids=ids, accepted_at_us=record.at_us
                )
            case event if getattr(event, "task_id", None) in self.tasks:
                task_id = event.task_id  # type: ignore[attr-defined]
                self.tasks[task_id] = evolve(self.tasks[task_id], record)

    def task(self, task_id: int) -> Task | None:
        return self.tasks.get(task_id)

    def next_task_id(self) -> int:
        return self._next_id

    def running_tasks(self) -> list[Task]:
        return [t for t in self.tasks.values() if t.status is TaskStatus.RUNNING]

    def device(self, serial: str) -> Device | None:
        return self.devices.get(serial)

    def account(self, username: str) -> Account | None:
        return self.accounts.get(username)

    def accepted_request(self, key: str) -> AcceptedRequest | None:
        return self.requests.get(key)
