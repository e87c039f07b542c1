"""The rules as given events → command → expected events."""

import pytest
from factories import MemoryState, created_event, spec

from phonefarm.core import rules
from phonefarm.core.commands import (
    AddAccount,
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
    RequestAccepted,
    TaskCompleted,
    TaskDeleted,
    TaskFailed,
    TaskRetried,
    TaskStarted,
    TaskStopped,
)
from phonefarm.core.task import TaskStatus

NOW_US = 50_000
STARTED = TaskStarted(task_id=1, serial="S1", attempt=1)
FAILED = TaskFailed(task_id=1, attempt=1, error="element not found: Post button")


def decide(state, command):
    return rules.decide(state, command, now_us=NOW_US)


def given(*events):
    return MemoryState(list(events))


def test_create_numbers_tasks_after_the_last_id():
    state = given(created_event(1), created_event(2))
    events = decide(state, CreateTasks([spec("S1"), spec("S2")]))
    assert [(e.task_id, e.serial) for e in events] == [(3, "S1"), (4, "S2")]


def test_create_with_no_specs_decides_nothing():
    assert decide(given(), CreateTasks([])) == []


def test_start_a_pending_task():
    assert decide(given(created_event(1)), StartTask(1, "S1")) == [STARTED]


@pytest.mark.parametrize("history", [[STARTED], [STARTED, FAILED]])
def test_start_refuses_a_task_that_is_not_pending(history):
    with pytest.raises(ConflictError):
        decide(given(created_event(1), *history), StartTask(1, "S1"))


def test_start_an_unknown_task_is_not_found():
    with pytest.raises(NotFoundError):
        decide(given(), StartTask(7, "S1"))


def test_complete_the_running_attempt():
    state = given(created_event(1), STARTED)
    assert decide(state, CompleteTask(1, 1)) == [TaskCompleted(task_id=1, attempt=1)]


def test_fail_the_running_attempt():
    state = given(created_event(1), STARTED)
    assert decide(state, FailTask(1, 1, FAILED.error)) == [FAILED]


@pytest.mark.parametrize(
    "history",
    [
        [],  # still pending
        [STARTED, TaskStopped(task_id=1, reason="stopped by user")],
        [STARTED, FAILED, TaskRetried(task_id=1, attempt=2)],  # an older attempt
        [STARTED, TaskDeleted(task_id=1)],
    ],
)
def test_a_late_result_is_ignored(history):
    state = given(created_event(1), *history)
    assert decide(state, CompleteTask(1, 1)) == []
    assert decide(state, FailTask(1, 1, "boom")) == []


@pytest.mark.parametrize("history", [[], [STARTED]])
def test_stop_a_pending_or_running_task(history):
    state = given(created_event(1), *history)
    assert decide(state, StopTask(1)) == [
        TaskStopped(task_id=1, reason="stopped by user")
    ]


def test_stop_a_failed_task_changes_nothing():
    assert decide(given(created_event(1), STARTED, FAILED), StopTask(1)) == []


def test_stop_a_completed_task_is_a_conflict():
    state = given(created_event(1), STARTED, TaskCompleted(task_id=1, attempt=1))
    with pytest.raises(ConflictError):
        decide(state, StopTask(1))


def test_retry_a_failed_task_adds_an_attempt():
    state = given(created_event(1), STARTED, FAILED)
    assert decide(state, RetryTask(1)) == [TaskRetried(task_id=1, attempt=2)]


@pytest.mark.parametrize(
    "history", [[], [STARTED], [STARTED, TaskCompleted(task_id=1, attempt=1)]]
)
def test_retry_refuses_a_task_that_has_not_failed(history):
    with pytest.raises(ConflictError):
        decide(given(created_event(1), *history), RetryTask(1))


def test_delete_a_running_task_stops_it_first():
    events = decide(given(created_event(1), STARTED), DeleteTask(1))
    assert events == [
        TaskStopped(task_id=1, reason="stopped by user"),
        TaskDeleted(task_id=1),
    ]


def test_delete_a_pending_task_is_a_tombstone_only():
    assert decide(given(created_event(1)), DeleteTask(1)) == [TaskDeleted(task_id=1)]


def test_delete_twice_is_not_found():
    with pytest.raises(NotFoundError):
        decide(given(created_event(1), TaskDeleted(task_id=1)), DeleteTask(1))


def test_interrupt_fails_only_running_tasks():
    state = given(created_event(1), created_event(2), STARTED)
    events = decide(state, InterruptRunning("interrupted by restart"))
    assert events == [TaskFailed(task_id=1, attempt=1, error="interrupted by restart")]


def test_device_online_is_recorded_once():
    connected = DeviceConnected(serial="S1", model="Pixel", driver="adb")
    assert decide(given(), MarkDeviceOnline("S1", "Pixel", "adb")) == [connected]
    assert decide(given(connected), MarkDeviceOnline("S1", "Pixel", "adb")) == []


def test_device_offline_only_when_it_was_online():
    connected = DeviceConnected(serial="S1", model="Pixel", driver="adb")
    lost = DeviceDisconnected(serial="S1", reason="unplugged")
    assert decide(given(), MarkDeviceOffline("S1", "unplugged")) == []
    assert decide(given(connected), MarkDeviceOffline("S1", "unplugged")) == [lost]
    assert decide(given(connected, lost), MarkDeviceOffline("S1", "unplugged")) == []


def test_evolve_follows_a_whole_attempt_cycle():
    state = given(created_event(1), STARTED, FAILED, TaskRetried(task_id=1, attempt=2))
    task = state.task(1)
    assert (task.status, task.attempts, task.error) == (TaskStatus.PENDING, 2, None)
    assert task.started_at_us is None and task.finished_at_us is None


def test_a_task_is_never_due_before_it_is_created():
    late, early = spec(scheduled_at_us=NOW_US + 9), spec(scheduled_at_us=NOW_US - 9)
    events = decide(given(), CreateTasks([late, early]))
    assert [e.scheduled_at_us for e in events] == [NOW_US + 9, NOW_US]


PHONE = DeviceConnected(serial="S1", model="Pixel", driver="adb")
ALICE = AccountAdded(username="Alice", serial="S1", platform="tiktok")


def test_add_an_account_to_a_known_phone():
    assert decide(given(PHONE), AddAccount("S1", "Alice", "tiktok")) == [ALICE]


def test_add_an_account_to_an_unknown_phone_names_the_serial():
    with pytest.raises(InvalidParameterError) as caught:
        decide(given(), AddAccount("S9", "Alice", "tiktok"))
    assert caught.value.field == "serial"


def test_accounts_are_unique_by_normalised_name_across_platforms():
    with pytest.raises(ConflictError):
        decide(given(PHONE, ALICE), AddAccount("S1", "ALICE", "instagram"))


def test_remove_an_account_by_any_spelling():
    state = given(PHONE, ALICE)
    assert decide(state, RemoveAccount("@alice")) == [
        AccountRemoved(username="Alice", serial="S1")
    ]
    with pytest.raises(NotFoundError):
        decide(given(PHONE), RemoveAccount("alice"))


KEY = IdempotencyKey(key="k1", body_sha256="aa")


def test_an_idempotency_key_is_recorded_with_its_tasks():
    events = decide(given(), CreateTasks([spec(), spec()], idempotency=KEY))
    assert events[-1] == RequestAccepted(key="k1", body_sha256="aa", task_ids=[1, 2])


def test_a_repeat_within_a_day_creates_nothing_and_names_the_tasks():
    accepted = RequestAccepted(key="k1", body_sha256="aa", task_ids=[1])
    state = given(created_event(1), accepted)  # accepted at 2_000 µs
    with pytest.raises(DuplicateRequestError) as caught:
        decide(state, CreateTasks([spec()], idempotency=KEY))
    assert caught.value.task_ids == [1]
    with pytest.raises(ConflictError):
        decide(state, CreateTasks([spec()], idempotency=IdempotencyKey("k1", "bb")))


def test_a_key_older_than_a_day_is_free_again():
    accepted = RequestAccepted(key="k1", body_sha256="aa", task_ids=[1])
    state = given(created_event(1), accepted)
    later = rules.decide(
        state,
        CreateTasks([spec()], idempotency=KEY),
        now_us=2_000 + rules.IDEMPOTENCY_WINDOW_US,
    )
    assert [type(e).__name__ for e in later] == ["TaskCreated", "RequestAccepted"]


def test_a_pause_is_recorded_with_its_end():
    events = decide(given(PHONE), PauseDevice("S1", 7, 90_000))
    assert events == [
        DevicePaused(
            serial="S1", task_id=7, pause_ms=90_000, until_us=NOW_US + 90_000_000
        )
    ]
    assert decide(given(PHONE), PauseDevice("S1", 7, 0)) == []
    assert decide(given(), PauseDevice("S9", 7, 5)) == []
