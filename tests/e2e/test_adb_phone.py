"""The real driver stack end to end: adb server, adbutils, uiautomator2, virtual phone.

Nothing here is a double: `AdbPhone` talks to a real adb server (the one
in the adbutils wheel, and Debian's `adb` too where it is installed) on a
private port, which talks the ADB protocol to `tools/virtual_phone.py`.
The virtual phone is strict, so every test also checks that it was asked
nothing it does not emulate.
"""

from __future__ import annotations

import time

import pytest
import trio
from adb_support import AdbServer, VirtualPhone, adb_binaries
from server_process import ServerProcess, poll

from phonefarm.actors.adb_driver import AdbPhone, read_model
from phonefarm.actors.driver import Selector
from phonefarm.actors.scripts import ScriptContext
from phonefarm.actors.scripts.follow import run_follow
from phonefarm.actors.scripts.post import run_post
from phonefarm.actors.selectors import APPS
from phonefarm.core.errors import (
    DeviceDisconnectedError,
    DeviceError,
    ElementNotFoundError,
    MaterialNotFoundError,
)
from phonefarm.core.task import Task

TIKTOK = APPS["tiktok"]


@pytest.fixture(
    scope="module",
    params=adb_binaries(),
    ids=lambda path: "adbutils-adb" if "adbutils" in path else "system-adb",
)
def adb_server(request, tmp_path_factory):
    # One server per adb binary for the module: a fresh adb 36 server spends
    # ~3 s on its first device scan before it answers anything.
    server = AdbServer(tmp_path_factory.mktemp("adb"), request.param)
    with pytest.MonkeyPatch.context() as env:
        # Should anything in this process start an adb server by accident
        # (adbutils does when none answers), it stays inside the temp folder.
        for name in ("HOME", "ANDROID_ADB_LOG_PATH", "TMPDIR", "ADB_MDNS"):
            env.setenv(name, server.env[name])
        env.setenv("ANDROID_ADB_SERVER_PORT", str(server.port))
        server.start()
        try:
            server.adb("devices")  # waits out the first scan
            yield server
        finally:
            server.stop()


@pytest.fixture
def phones(tmp_path, adb_server):
    started: list[VirtualPhone] = []

    def start(*args: str, port: int = 0) -> VirtualPhone:
        phone = VirtualPhone(tmp_path / "phones", *args).start(port)
        started.append(phone)
        return phone

    yield start
    for phone in started:
        phone.kill()
        adb_server.adb("disconnect", f"127.0.0.1:{phone.port}")


@pytest.fixture
def serve(tmp_path):
    started: list[ServerProcess] = []

    def start(*args: str) -> ServerProcess:
        server = ServerProcess(tmp_path / "data", *args).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def material(tmp_path):
    video = tmp_path / "clip.mp4"
    video.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(4096))
    return video


def task(script_name: str, **config) -> Task:
    return Task(
        id=3,
        serial="vphone",
        username=None,
        platform="tiktok",
        script_name=script_name,
        script_config=config,
        source="api",
        enable_multi_account=False,
        start_time=None,
        scheduled_at_us=0,
        created_at_us=0,
        min_interval=0,
        max_interval=0,
    )


def context(driver: AdbPhone, script_task: Task) -> ScriptContext:
    return ScriptContext(
        driver=driver,
        task=script_task,
        app=TIKTOK,
        poll_s=0.05,
        step_timeout_s=5.0,
        call_timeout_s=20.0,
    )


async def adb_phone(adb_server: AdbServer, phone: VirtualPhone) -> AdbPhone:
    serial = await trio.to_thread.run_sync(adb_server.connect, phone.port)
    device = adb_server.client().device(serial)
    model = await trio.to_thread.run_sync(read_model, device)
    return AdbPhone(device, model=model)


async def test_adb_phone_posts_a_video_and_follows_a_user(adb_server, phones, material):
    phone = phones("--upload-s", "0.2")
    driver = await adb_phone(adb_server, phone)
    assert (driver.kind, driver.model) == ("adb", "VirtualPhone")

    post = task("post", captions="hello from adb", material_list=[str(material)])
    await run_post(context(driver, post))
    hierarchy = await driver.dump_hierarchy()
    assert 'text="Your post is now public"' in hierarchy

    follow = task("follow", target_username="@Some.Creator")
    await run_follow(context(driver, follow))
    assert await driver.exists(TIKTOK.selector("following label"))
    assert 'text="@some.creator"' in await driver.dump_hierarchy()

    assert (await driver.screenshot()).startswith(b"\x89PNG")
    assert phone.unknown() == []


async def test_adb_phone_follows_by_search(adb_server, phones):
    phone = phones()
    driver = await adb_phone(adb_server, phone)

    follow = task("follow", target_username="creator", access_method="search")
    await run_follow(context(driver, follow))

    assert await driver.exists(TIKTOK.selector("following label"))
    assert phone.unknown() == []


async def test_adb_phone_errors_name_what_went_wrong(adb_server, phones, tmp_path):
    phone = phones()
    driver = await adb_phone(adb_server, phone)
    await driver.app_start(TIKTOK.package)

    with pytest.raises(ElementNotFoundError, match="element not found: Nope"):
        await driver.click(Selector(name="Nope", text="Nope"))
    with pytest.raises(DeviceError, match=r"app not installed: com\.example\.none"):
        await driver.app_start("com.example.none")
    with pytest.raises(MaterialNotFoundError):
        await driver.push(tmp_path / "missing.mp4", "/sdcard/DCIM/Camera/x.mp4")
    outside = tmp_path / "x.mp4"
    outside.write_bytes(b"x")
    with pytest.raises(DeviceError, match=r"push failed: /system/x\.mp4"):
        await driver.push(outside, "/system/x.mp4")
    assert phone.unknown() == []

    phone.kill()
    with trio.fail_after(15):
        with pytest.raises(DeviceDisconnectedError, match="device disconnected"):
            await driver.exists(TIKTOK.selector("create button"))


def test_serve_finds_the_phone_runs_tasks_loses_it_and_finds_it_again(
    adb_server, phones, material, serve
):
    phone = phones("--upload-s", "0.2")
    serial = adb_server.connect(phone.port)
    server = serve("--log-level", "debug")

    def device_state():
        return device_states(server)

    poll(lambda: device_state().get(serial) == ("online", "adb"), timeout_s=20)

    body = {
        "serials": [serial],
        "script_name": "post",
        "script_config": {
            "captions": "served over adb",
            "material_list": [str(material)],
            "upload_wait_time": 20,
        },
    }
    first = create(server, body)
    done = poll(lambda: finished(server, first), timeout_s=40)
    assert done["status"] == 2, (done, server.log())

    second = create(server, body)
    poll(lambda: status(server, second) == 1, timeout_s=20)  # running
    phone.kill()  # the cable is pulled mid-task
    failed = poll(lambda: finished(server, second), timeout_s=20)
    assert (failed["status"], failed["error"]) == (3, "device disconnected")
    poll(lambda: device_state().get(serial, ("?",))[0] == "offline", timeout_s=20)
    # The actor may see the loss first; the adb server's report follows.
    poll(lambda: "device lost serial=" + serial in server.log(), timeout_s=10)
    assert phone.unknown() == []

    # Plugged back in: a fresh phone process on the same address. An explicit
    # reconnect spares the adb server's reconnect backoff (~5-9 s).
    back = phones("--upload-s", "0.2", port=phone.port)
    adb_server.adb("disconnect", serial)
    assert adb_server.connect(back.port) == serial
    poll(lambda: device_state().get(serial) == ("online", "adb"), timeout_s=20)
    follow = {"serials": [serial], "script_name": "follow"}
    third = create(server, {**follow, "script_config": {"target_username": "x"}})
    done = poll(lambda: finished(server, third), timeout_s=40)
    assert done["status"] == 2, (done, server.log())
    assert back.unknown() == []


def device_states(server: ServerProcess) -> dict[str, tuple[str, str]]:
    devices = server.get("/device")["data"]["devices"]
    return {d["serial"]: (d["state"], d["driver"]) for d in devices}


def create(server: ServerProcess, body: dict) -> int:
    created = server.post("/task", json=body)
    assert created["code"] == 0, created
    (task_id,) = created["data"]["task_ids"]
    return task_id


def status(server: ServerProcess, task_id: int) -> int:
    return server.get(f"/task/{task_id}")["data"]["status"]


def finished(server: ServerProcess, task_id: int) -> dict | None:
    found = server.get(f"/task/{task_id}")["data"]
    return found if found["status"] in (2, 3) else None


def test_a_stop_lands_within_a_second_on_an_adb_phone(
    adb_server, phones, material, serve
):
    phone = phones("--upload-s", "600")  # the post waits for its upload
    serial = adb_server.connect(phone.port)
    server = serve("--log-level", "debug")
    poll(lambda: device_states(server).get(serial) == ("online", "adb"), timeout_s=20)
    body = {
        "serials": [serial],
        "script_name": "post",
        "script_config": {"material_list": [str(material)], "upload_wait_time": 60},
    }
    task_id = create(server, body)
    waiting = "call=exists target=Upload finished"
    poll(lambda: waiting in server.log(), timeout_s=20)

    asked = time.monotonic()
    assert server.post(f"/task/{task_id}/stop")["code"] == 0
    stopped = poll(lambda: finished(server, task_id), timeout_s=5)
    assert time.monotonic() - asked < 1.0
    assert (stopped["status"], stopped["error"]) == (3, "stopped by user")

    follow = {"serials": [serial], "script_name": "follow"}
    after = create(server, {**follow, "script_config": {"target_username": "x"}})
    assert poll(lambda: finished(server, after), timeout_s=20)["status"] == 2
    assert phone.unknown() == []
