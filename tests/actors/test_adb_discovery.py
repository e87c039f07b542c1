"""Device discovery: phones that come and go, reconciled with the fleet."""

import logging
import socket

import pytest
import trio
import trio.testing
from clocks import TrioWallClock
from factories import spec

from phonefarm.actors.adb_discovery import (
    adb_client,
    parse_device_list,
    reconcile,
    watch_adb,
)
from phonefarm.actors.runtime import RuntimeConfig, open_runtime
from phonefarm.actors.simulated import SimulatedPhone
from phonefarm.core.commands import CreateTasks
from phonefarm.core.task import TaskStatus


@pytest.fixture
async def runtime(tmp_path, clock):
    async with open_runtime(
        RuntimeConfig(data_dir=tmp_path / "data"),
        clock=TrioWallClock(),
        commit_in_thread=False,
        drivers=[],
    ) as runtime:
        yield runtime


class Phones:
    """A `make_driver` that hands out simulated phones and keeps them."""

    def __init__(self) -> None:
        self.made: list[SimulatedPhone] = []

    async def __call__(self, serial: str) -> SimulatedPhone:
        phone = SimulatedPhone(serial, step_delay_s=0.05, seed=len(self.made))
        self.made.append(phone)
        return phone


def post(serial, material):
    config = {"material_list": [str(material)], "upload_wait_time": 30}
    return spec(serial, "post", script_config=config)


async def wait_for(predicate, runtime, timeout_s=60):
    with trio.fail_after(timeout_s):
        while not predicate():
            await runtime.writer.wait_for_commit(runtime.writer.last_seq)


def test_parse_device_list_reads_each_serial_and_state():
    output = "0123ABC\tdevice\n127.0.0.1:5555\toffline\nR58M\tunauthorized\n"
    assert parse_device_list(output) == {
        "0123ABC": "device",
        "127.0.0.1:5555": "offline",
        "R58M": "unauthorized",
    }
    assert parse_device_list("") == {}


async def test_a_phone_plugged_in_goes_online_and_runs_a_task(clock, runtime, material):
    phones, attached = Phones(), set()
    await reconcile(runtime.fleet, {"A1": "device"}, phones, attached)

    assert runtime.store.device("A1").online
    (created,) = await runtime.writer.submit(CreateTasks([post("A1", material)]))
    task_id = created.event.task_id
    await wait_for(
        lambda: runtime.store.task(task_id).status is TaskStatus.COMPLETED, runtime
    )
    assert len(phones.made[0].posts) == 1


async def test_an_unplugged_phone_fails_its_task_and_comes_back_online(
    clock, runtime, material
):
    phones, attached = Phones(), set()
    await reconcile(runtime.fleet, {"A1": "device"}, phones, attached)
    phones.made[0].hang("click")  # the script sits in a call when the cable goes
    (created,) = await runtime.writer.submit(CreateTasks([post("A1", material)]))
    task_id = created.event.task_id
    with trio.fail_after(10):  # MockClock time: the hang is well within 30 s
        while phones.made[0].calls[-1:] != ["click Create button"]:
            await trio.sleep(0.01)

    await reconcile(runtime.fleet, {"A1": "offline"}, phones, attached)

    task = runtime.store.task(task_id)
    assert (task.status, task.error) == (TaskStatus.FAILED, "device disconnected")
    assert not runtime.store.device("A1").online
    assert runtime.fleet.current_task_id("A1") is None

    await reconcile(runtime.fleet, {"A1": "device"}, phones, attached)
    assert runtime.store.device("A1").online
    (again,) = await runtime.writer.submit(CreateTasks([post("A1", material)]))
    await wait_for(
        lambda: runtime.store.task(again.event.task_id).status is TaskStatus.COMPLETED,
        runtime,
    )
    assert [len(p.posts) for p in phones.made] == [0, 1]


async def test_a_phone_whose_actor_met_the_loss_is_attached_afresh(
    clock, runtime, material
):
    phones, attached = Phones(), set()
    await reconcile(runtime.fleet, {"A1": "device"}, phones, attached)
    phones.made[0].disconnect()  # a call fails before adb's list says so
    (lost,) = await runtime.writer.submit(CreateTasks([post("A1", material)]))
    await wait_for(lambda: not runtime.store.device("A1").online, runtime)
    assert runtime.store.task(lost.event.task_id).error == "device disconnected"

    # adb's next list still (again) says `device`: the phone is back.
    await reconcile(runtime.fleet, {"A1": "device"}, phones, attached)

    assert runtime.store.device("A1").online
    (again,) = await runtime.writer.submit(CreateTasks([post("A1", material)]))
    await wait_for(
        lambda: runtime.store.task(again.event.task_id).status is TaskStatus.COMPLETED,
        runtime,
    )
    assert len(phones.made) == 2


async def test_a_phone_gone_from_the_list_goes_offline(clock, runtime):
    phones, attached = Phones(), set()
    await reconcile(runtime.fleet, {"A1": "device", "A2": "device"}, phones, attached)
    await reconcile(runtime.fleet, {"A2": "device"}, phones, attached)

    assert not runtime.store.device("A1").online
    assert runtime.store.device("A2").online
    assert attached == {"A2"}


async def test_an_unauthorized_phone_is_not_attached(clock, runtime, caplog):
    phones, attached = Phones(), set()
    with caplog.at_level(logging.WARNING):
        await reconcile(runtime.fleet, {"R58M": "unauthorized"}, phones, attached)
    assert runtime.store.device("R58M") is None
    assert "device unauthorized serial=R58M" in caplog.text


class WarningSeen(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.event = trio.Event()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())
        self.event.set()


async def test_no_adb_server_means_one_warning_and_no_phones(tmp_path):
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    handler = WarningSeen()
    logger = logging.getLogger("phonefarm.actors.adb_discovery")
    logger.addHandler(handler)
    try:
        async with (
            open_runtime(
                RuntimeConfig(data_dir=tmp_path / "data"), drivers=[]
            ) as runtime,
            trio.open_nursery() as nursery,
        ):
            nursery.start_soon(watch_adb, runtime.fleet, adb_client(port))
            with trio.fail_after(10):
                await handler.event.wait()
            assert runtime.store.devices() == []
            nursery.cancel_scope.cancel()
    finally:
        logger.removeHandler(handler)
    (message,) = handler.messages
    assert f"no adb server at 127.0.0.1:{port}" in message
