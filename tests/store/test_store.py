"""The LMDB store: events and projections written together, and read back."""

import logging
import subprocess
import sys

import pytest
from factories import spec

from phonefarm.core.commands import (
    CompleteTask,
    CreateTasks,
    DeleteTask,
    MarkDeviceOnline,
    StartTask,
    StopTask,
)
from phonefarm.core.errors import ConflictError, NotFoundError, StoreLockedError
from phonefarm.core.events import TaskCreated, TaskStarted
from phonefarm.core.store import Store
from phonefarm.core.task import TaskStatus


@pytest.fixture
def store(tmp_path):
    store = Store.open(tmp_path / "data")
    yield store
    store.close()


def create(store, *specs, now_us=10):
    (outcome,) = store.apply([CreateTasks(list(specs))], now_us)
    return [r.event.task_id for r in outcome]


def test_events_and_projections_commit_together(store):
    assert create(store, spec("S1"), spec("S2")) == [1, 2]
    assert [r.seq for r in store.events_after(0, 10)] == [1, 2]
    assert store.last_seq() == 2
    assert store.task(2).serial == "S2"
    assert store.stats() == {
        "total": 2,
        "pending": 2,
        "running": 0,
        "completed": 0,
        "failed": 0,
    }


def test_reopen_finds_everything(tmp_path):
    store = Store.open(tmp_path)
    create(store, spec("S1"))
    store.apply([StartTask(1, "S1"), CompleteTask(1, 1)], 20)
    store.close()

    reopened = Store.open(tmp_path)
    try:
        task = reopened.task(1)
        assert task.status is TaskStatus.COMPLETED
        assert (task.created_at_us, task.started_at_us, task.finished_at_us) == (
            10,
            20,
            20,
        )
        assert reopened.stats()["completed"] == 1
        assert create(reopened, spec("S1")) == [2]
    finally:
        reopened.close()


def test_a_refused_command_writes_nothing_and_the_batch_goes_on(store):
    create(store, spec("S1"))
    outcomes = store.apply([StopTask(99), StartTask(1, "S1"), StartTask(1, "S1")], 20)
    assert isinstance(outcomes[0], NotFoundError)
    assert [r.event for r in outcomes[1]] == [
        TaskStarted(task_id=1, serial="S1", attempt=1)
    ]
    assert isinstance(outcomes[2], ConflictError)  # saw the start before it, same txn
    assert store.last_seq() == 2


def test_list_is_newest_first_with_exact_totals(store):
    create(store, *[spec("S1") for _ in range(5)])
    tasks, total = store.list_tasks({}, offset=0, limit=2)
    assert ([t.id for t in tasks], total) == ([5, 4], 5)
    tasks, _ = store.list_tasks({}, offset=4, limit=2)
    assert [t.id for t in tasks] == [1]
    assert store.list_tasks({}, offset=5, limit=2) == ([], 5)


def test_filters_combine(store):
    create(store, spec("S1"), spec("S2"), spec("S1", "follow"), spec("S2", "follow"))
    store.apply([StartTask(3, "S1")], 20)

    def ids(**filters):
        tasks, total = store.list_tasks(filters, offset=0, limit=100)
        assert total == len(tasks)
        return [t.id for t in tasks]

    assert ids(serial="S1") == [3, 1]
    assert ids(script_name="follow") == [4, 3]
    assert ids(status=int(TaskStatus.RUNNING)) == [3]
    assert ids(status=int(TaskStatus.PENDING), serial="S1") == [1]
    assert ids(serial="S2", script_name="follow", source="api") == [4]
    assert ids(source="ui") == []
    assert ids(serial="nope") == []


def test_delete_forgets_the_task_but_keeps_its_history(store):
    create(store, spec("S1"), spec("S1"))
    store.apply([StartTask(1, "S1"), DeleteTask(1)], 20)
    assert store.task(1) is None
    assert store.list_tasks({}, offset=0, limit=10)[1] == 1
    assert store.stats() == {
        "total": 1,
        "pending": 1,
        "running": 0,
        "completed": 0,
        "failed": 0,
    }
    history = [type(r.event).type_name() for r in store.task_history(1)]
    assert history == ["task.created", "task.started", "task.stopped", "task.deleted"]


def test_due_queue_is_per_serial_earliest_first(store):
    create(
        store,
        spec("S1", scheduled_at_us=500),
        spec("S1", scheduled_at_us=100),
        spec("S2"),
    )
    assert store.next_due("S1") == (100, 2)
    store.apply([StartTask(2, "S1")], 20)
    assert store.next_due("S1") == (500, 1)
    assert store.next_due("S3") is None


def test_history_is_per_task_in_log_order(store):
    create(store, spec("S1"), spec("S1"))
    store.apply([StartTask(2, "S1"), StartTask(1, "S1")], 20)
    assert [r.seq for r in store.task_history(1)] == [1, 4]
    assert isinstance(store.task_history(2)[0].event, TaskCreated)


def test_devices_projection(store):
    store.apply([MarkDeviceOnline("S1", "Pixel 7", "adb")], 10)
    (device,) = store.devices()
    assert (device.serial, device.model, device.online) == ("S1", "Pixel 7", True)


def test_a_second_writer_is_refused(tmp_path, store):
    with pytest.raises(StoreLockedError):
        Store.open(tmp_path / "data")


def test_a_full_map_grows_and_carries_on(tmp_path):
    store = Store.open(tmp_path, map_size=64 * 1024)
    try:
        big = spec("S1", script_config={"captions": "x" * 2000})
        for _ in range(20):
            create(store, *[big] * 5)
        assert store.stats()["total"] == 100
        assert store.map_size_bytes > 64 * 1024
    finally:
        store.close()


def test_rebuild_gives_back_the_same_projections(store):
    create(store, spec("S1"), spec("S2"), spec("S1", "follow"))
    store.apply([MarkDeviceOnline("S1", "Pixel", "adb"), StartTask(1, "S1")], 20)
    store.apply([CompleteTask(1, 1), StopTask(2), DeleteTask(3)], 30)
    before = (store.stats(), store.list_tasks({}, offset=0, limit=10), store.devices())
    assert store.check() == []

    assert store.rebuild() == store.last_seq()
    assert (
        store.stats(),
        store.list_tasks({}, offset=0, limit=10),
        store.devices(),
    ) == before
    assert store.check() == []


def test_check_lists_a_projection_that_drifted(store):
    create(store, spec("S1"))
    with store._env.begin(write=True) as txn:  # corrupt a projection on purpose
        txn.delete((1).to_bytes(8, "big"), db=store._dbs.tasks)
    (difference,) = store.check()
    assert difference.database == "tasks" and difference.live is None
    store.rebuild()
    assert store.check() == [] and store.task(1) is not None


def _lmdb_process(path, *, read: bool) -> subprocess.Popen:
    """A child that opens the environment (and a read transaction) and waits."""
    code = (
        "import lmdb, time\n"
        f"env = lmdb.open({str(path)!r}, readonly=True, max_dbs=16)\n"
        + ("txn = env.begin()\n" if read else "")
        + "print('open', flush=True)\n"
        "time.sleep(60)\n"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, text=True
    )
    assert child.stdout.readline() == "open\n"
    return child


def test_stale_reader_slots_of_a_killed_process_are_cleared_at_open(tmp_path, caplog):
    # The lock table is reset when the first process opens the environment,
    # so a stale slot only survives while some other process keeps it open.
    Store.open(tmp_path).close()
    holder = _lmdb_process(tmp_path, read=False)
    try:
        reader = _lmdb_process(tmp_path, read=True)
        reader.kill()
        reader.wait()
        with caplog.at_level(logging.WARNING):
            Store.open(tmp_path).close()
    finally:
        holder.kill()
        holder.wait()
    assert "cleared stale reader slots count=1" in caplog.messages
