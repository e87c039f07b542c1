"""The writer actor: group commit, answers after the commit, refusals per command."""

import pytest
import trio
from factories import spec

from phonefarm.actors.writer import Writer
from phonefarm.core.clock import SystemClock
from phonefarm.core.commands import CreateTasks, StartTask, StopTask
from phonefarm.core.errors import NotFoundError
from phonefarm.core.store import Store


@pytest.fixture
def store(tmp_path):
    store = Store.open(tmp_path)
    yield store
    store.close()


@pytest.fixture
async def writer(store, nursery):
    writer = Writer(store, SystemClock())
    await nursery.start(writer.run)
    return writer


async def test_an_answer_means_the_events_are_committed(store, writer):
    (record,) = await writer.submit(CreateTasks([spec()]))
    assert store.last_seq() == record.seq == writer.last_seq
    assert store.task(record.event.task_id) is not None


async def test_concurrent_commands_share_commits(store, writer):
    results: list[int] = []

    async def create():
        (record,) = await writer.submit(CreateTasks([spec()]))
        results.append(record.event.task_id)

    async with trio.open_nursery() as nursery:
        for _ in range(200):
            nursery.start_soon(create)

    assert sorted(results) == list(range(1, 201))
    assert writer.commits < 200
    assert store.stats()["total"] == 200


async def test_a_refused_command_raises_for_its_caller_only(store, writer):
    await writer.submit(CreateTasks([spec()]))
    with pytest.raises(NotFoundError):
        await writer.submit(StopTask(42))
    outcomes = await writer.submit_all([StopTask(42), StartTask(1, "S1")])
    assert isinstance(outcomes[0], NotFoundError)
    assert outcomes[1][0].event.task_id == 1


async def test_listeners_hear_every_commit(writer):
    heard: list[int] = []
    writer.add_listener(lambda: heard.append(writer.last_seq))
    await writer.submit(CreateTasks([spec()]))
    await writer.submit(CreateTasks([spec(), spec()]))
    assert heard == [1, 3]


async def test_wait_for_commit_returns_once_the_log_grows(writer, nursery):
    seen: list[int] = []

    async def waiter():
        seen.append(await writer.wait_for_commit(0))

    nursery.start_soon(waiter)
    await trio.testing.wait_all_tasks_blocked()
    assert seen == []
    await writer.submit(CreateTasks([spec()]))
    await trio.testing.wait_all_tasks_blocked()
    assert seen == [1]
