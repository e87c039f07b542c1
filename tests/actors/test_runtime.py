"""Writer, dispatcher and device actors together on simulated phones, MockClock."""

import itertools
import logging

import pytest
import trio
import trio.testing
from clocks import START_US, TrioWallClock
from factories import created_event, spec

from phonefarm.actors.runtime import RuntimeConfig, open_runtime
from phonefarm.actors.simulated import SimulatedPhone
from phonefarm.core.commands import CreateTasks, StartTask, StopTask
from phonefarm.core.events import DevicePaused, Recorded
from phonefarm.core.store import Store
from phonefarm.core.task import TaskStatus, created


def phones(*serials, **options):
    return [SimulatedPhone(s, seed=n, **options) for n, s in enumerate(serials)]


def post(serial, material, **overrides):
    config = {
        "content_type": 0,
        "captions": "hello",
        "material_list": [str(material)],
        "upload_wait_time": 30,
    }
    return spec(serial, "post", script_config=config, **overrides)


async def wait_for_status(runtime, task_id, *statuses, timeout_s=60):
    with trio.fail_after(timeout_s):
        while (task := runtime.store.task(task_id)).status not in statuses:
            await runtime.writer.wait_for_commit(runtime.writer.last_seq)
        return task


@pytest.fixture
async def runtime(tmp_path, clock):
    drivers = phones("P1", "P2")
    async with open_runtime(
        RuntimeConfig(data_dir=tmp_path / "data"),
        clock=TrioWallClock(),
        commit_in_thread=False,
        drivers=drivers,
    ) as runtime:
        runtime.phones = {d.serial: d for d in drivers}
        yield runtime


async def test_a_post_task_runs_to_completion(clock, runtime, material):
    (created,) = await runtime.writer.submit(CreateTasks([post("P1", material)]))
    task = await wait_for_status(runtime, created.event.task_id, TaskStatus.COMPLETED)
    assert task.error is None and task.started_at_us <= task.finished_at_us
    (published,) = runtime.phones["P1"].posts
    assert published.caption == "hello"


async def test_one_phone_runs_its_tasks_one_at_a_time_in_id_order(
    clock, runtime, material
):
    await runtime.writer.submit(CreateTasks([post("P1", material) for _ in range(3)]))
    await wait_for_status(runtime, 3, TaskStatus.COMPLETED)
    tasks = [runtime.store.task(i) for i in (1, 2, 3)]
    for earlier, later in itertools.pairwise(tasks):
        assert earlier.finished_at_us <= later.started_at_us


async def test_phones_work_in_parallel(clock, runtime, material):
    await runtime.writer.submit(
        CreateTasks([post("P1", material), post("P2", material)])
    )
    first = await wait_for_status(runtime, 1, TaskStatus.RUNNING)
    second = await wait_for_status(runtime, 2, TaskStatus.RUNNING, TaskStatus.COMPLETED)
    assert second.started_at_us < (first.finished_at_us or 2**63)


async def test_stop_interrupts_the_script_within_a_second(clock, runtime, material):
    runtime.phones["P1"].slow_uploads()  # the post would wait for its upload
    await runtime.writer.submit(
        CreateTasks([post("P1", material), post("P1", material)])
    )
    await wait_for_status(runtime, 1, TaskStatus.RUNNING)

    stopped_at = trio.current_time()
    await runtime.writer.submit(StopTask(1))
    with trio.fail_after(1.0):
        while runtime.current_task_id("P1") == 1:
            await trio.sleep(0.01)
    assert trio.current_time() - stopped_at < 1.0
    task = runtime.store.task(1)
    assert (task.status, task.error) == (TaskStatus.FAILED, "stopped by user")
    await wait_for_status(runtime, 2, TaskStatus.RUNNING)  # the phone moved on


async def test_a_scheduled_task_waits_for_its_time(clock, runtime, material):
    due_us = runtime.clock.now_us() + 90 * 1_000_000
    await runtime.writer.submit(
        CreateTasks([post("P1", material, scheduled_at_us=due_us)])
    )
    await trio.sleep(89)
    assert runtime.store.task(1).status is TaskStatus.PENDING
    task = await wait_for_status(runtime, 1, TaskStatus.RUNNING, TaskStatus.COMPLETED)
    assert due_us <= task.started_at_us < due_us + 1_000_000


async def test_a_disconnect_fails_the_task_and_takes_the_phone_offline(
    clock, runtime, material
):
    phone = runtime.phones["P1"]
    phone.slow_uploads()
    await runtime.writer.submit(CreateTasks([post("P1", material)]))
    await wait_for_status(runtime, 1, TaskStatus.RUNNING)
    phone.disconnect()
    task = await wait_for_status(runtime, 1, TaskStatus.FAILED)
    assert task.error == "device disconnected"
    with trio.fail_after(5):
        while runtime.store.device("P1").online:
            await runtime.writer.wait_for_commit(runtime.writer.last_seq)


async def test_a_missing_element_fails_with_its_name(clock, runtime, material):
    runtime.phones["P1"].hide("post button")
    await runtime.writer.submit(CreateTasks([post("P1", material)]))
    task = await wait_for_status(runtime, 1, TaskStatus.FAILED)
    assert task.error.startswith("element not found: ")


async def test_a_restart_fails_what_a_dead_process_left_running(tmp_path, clock):
    store = Store.open(tmp_path)
    store.apply([CreateTasks([spec("P1"), spec("P1")])], START_US)
    store.apply([StartTask(1, "P1")], START_US)
    store.close()

    async with open_runtime(
        RuntimeConfig(data_dir=tmp_path),
        clock=TrioWallClock(),
        commit_in_thread=False,
        drivers=[],
    ) as runtime:
        task = runtime.store.task(1)
        assert (task.status, task.error) == (
            TaskStatus.FAILED,
            "interrupted by restart",
        )
        assert runtime.store.task(2).status is TaskStatus.PENDING
        kinds = [type(r.event).type_name() for r in runtime.store.task_history(1)]
        assert kinds == ["task.created", "task.started", "task.failed"]


async def test_a_clean_shutdown_fails_running_tasks_as_interrupted(
    tmp_path, clock, material
):
    drivers = phones("P1")
    drivers[0].slow_uploads()
    config = RuntimeConfig(data_dir=tmp_path)
    async with open_runtime(
        config, clock=TrioWallClock(), commit_in_thread=False, drivers=drivers
    ) as runtime:
        await runtime.writer.submit(CreateTasks([post("P1", material)]))
        await wait_for_status(runtime, 1, TaskStatus.RUNNING)

    store = Store.open(tmp_path)
    try:
        task = store.task(1)
        assert (task.status, task.error) == (
            TaskStatus.FAILED,
            "interrupted by shutdown",
        )
        assert store.device("P1").online is False
    finally:
        store.close()


async def test_a_phone_rests_between_tasks_as_the_interval_asks(
    clock, runtime, material
):
    task = post("P1", material, min_interval=1, max_interval=2)
    await runtime.writer.submit(CreateTasks([task, task, task]))
    await wait_for_status(runtime, 3, TaskStatus.COMPLETED, timeout_s=600)

    pauses = [
        r.event
        for r in runtime.store.events_after(0, 1000)
        if isinstance(r.event, DevicePaused)
    ]
    assert [p.task_id for p in pauses] == [2, 3]  # none before the first task
    tasks = [runtime.store.task(i) for i in (1, 2, 3)]
    for pause, (before, after) in zip(pauses, itertools.pairwise(tasks), strict=True):
        assert 60_000 <= pause.pause_ms <= 120_000
        gap_us = after.started_at_us - before.finished_at_us
        assert pause.pause_ms * 1000 <= gap_us < pause.pause_ms * 1000 + 1_000_000


async def test_no_interval_means_no_rest(clock, runtime, material):
    await runtime.writer.submit(CreateTasks([post("P1", material) for _ in range(2)]))
    await wait_for_status(runtime, 2, TaskStatus.COMPLETED)
    kinds = {type(r.event).type_name() for r in runtime.store.events_after(0, 1000)}
    assert "device.paused" not in kinds


async def test_each_transition_is_logged_once(clock, runtime, material, caplog):
    caplog.set_level(logging.INFO)
    await runtime.writer.submit(CreateTasks([post("P1", material)]))
    await wait_for_status(runtime, 1, TaskStatus.COMPLETED)
    await runtime.writer.wait_for_commit(runtime.writer.last_seq - 1)
    with trio.fail_after(5):
        while not any("task completed" in m for m in caplog.messages):
            await trio.sleep(0.01)
    lines = [m for m in caplog.messages if "task_id=1" in m]
    assert [m.split(" task_id")[0] for m in lines] == ["task started", "task completed"]
    assert "serial=P1" in lines[1] and "duration_s=" in lines[1]


async def test_a_stop_that_lands_before_the_script_starts_still_stops_it(
    clock, runtime, material
):
    # The dispatcher hands a task over right after its start commits; a
    # stop committed in between reaches the phone before its script runs.
    phone = runtime.phones["P1"]
    phone.slow_uploads()  # the script, once started, would not end by itself
    actor = runtime.fleet.actors["P1"]
    config = post("P1", material).script_config
    event = created_event(99, "P1", script_config=config)
    task = created(Recorded(seq=1, at_us=START_US, event=event))
    actor.assign(task)
    actor.cancel(99)
    with trio.fail_after(1):
        while actor.current_task_id is not None:
            await trio.sleep(0.01)
    assert len(phone.calls) <= 1  # cancelled at its first call, the push
    assert phone.posts == [] and actor.idle
