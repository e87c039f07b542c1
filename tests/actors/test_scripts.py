"""The `post` and `follow` scripts, run against the simulated phone."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
import trio

from phonefarm.actors.driver import Selector
from phonefarm.actors.scripts import SCRIPTS, ScriptContext, app_for
from phonefarm.actors.scripts.steps import wait_for
from phonefarm.actors.selectors import APPS
from phonefarm.actors.simulated import SimulatedPhone
from phonefarm.core.errors import (
    DeviceDisconnectedError,
    DriverTimeoutError,
    ElementNotFoundError,
    MaterialNotAllowedError,
    MaterialNotFoundError,
    ScriptError,
    UploadTimeoutError,
)
from phonefarm.core.task import Task

POST_DEFAULTS: dict[str, Any] = {
    "content_type": 0,
    "image_count": 1,
    "captions": "",
    "post_way": "share",
    "material_source": "materialLibrary",
    "material_path": "",
    "material_list": [],
    "upload_wait_time": 30,
}
FOLLOW_DEFAULTS: dict[str, Any] = {"access_method": "direct"}


def make_task(
    script_name: str = "post", platform: str = "tiktok", **config: Any
) -> Task:
    defaults = POST_DEFAULTS if script_name == "post" else FOLLOW_DEFAULTS
    return Task(
        id=7,
        serial="SIM1",
        username=None,
        platform=platform,
        script_name=script_name,
        script_config={**defaults, **config},
        source="api",
        enable_multi_account=False,
        start_time=None,
        scheduled_at_us=0,
        created_at_us=0,
        min_interval=0,
        max_interval=0,
    )


def make_phone(**kwargs: Any) -> SimulatedPhone:
    kwargs.setdefault("step_delay_s", 0)
    kwargs.setdefault("upload_s", 0)
    kwargs.setdefault("push_bytes_per_s", math.inf)
    return SimulatedPhone("SIM1", **kwargs)


def context(phone: SimulatedPhone, task: Task, **kwargs: Any) -> ScriptContext:
    return ScriptContext(driver=phone, task=task, app=app_for(task), **kwargs)


async def run(phone: SimulatedPhone, task: Task, **kwargs: Any) -> None:
    await SCRIPTS[task.script_name](context(phone, task, **kwargs))


def material(folder: Path, name: str = "clip.mp4") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(b"\0" * 2048)
    return path


def test_scripts_are_registered_by_name_and_apps_by_platform() -> None:
    assert set(SCRIPTS) == {"post", "follow"}
    assert app_for(make_task(platform="instagram")) is APPS["instagram"]
    with pytest.raises(ScriptError) as caught:
        app_for(make_task(platform="myspace"))
    assert str(caught.value) == "platform not supported: myspace"


@pytest.mark.parametrize("platform", ["tiktok", "instagram"])
async def test_post_publishes_the_pushed_video_with_its_caption(
    platform: str, tmp_path: Path, autojump_clock: object
) -> None:
    video = material(tmp_path, "my clip.mp4")
    phone = make_phone()
    task = make_task(
        platform=platform, material_list=[str(video)], captions="Sunday {vibes} #fyp"
    )

    await run(phone, task)

    remote = "/sdcard/DCIM/Camera/phonefarm_7_0_my_clip.mp4"
    assert phone.files[remote].source == video
    [post] = phone.posts
    assert (post.platform, post.caption, post.media) == (
        platform,
        "Sunday {vibes} #fyp",
        (remote,),
    )


async def test_post_of_images_keeps_the_materials_order(
    tmp_path: Path, autojump_clock: object
) -> None:
    files = [material(tmp_path, f"{name}.jpg") for name in ("c", "a", "b")]
    phone = make_phone()
    task = make_task(
        content_type=1, image_count=2, material_list=[str(f) for f in files]
    )

    await run(phone, task)

    [post] = phone.posts
    assert post.media == (
        "/sdcard/DCIM/Camera/phonefarm_7_0_c.jpg",
        "/sdcard/DCIM/Camera/phonefarm_7_1_a.jpg",
    )
    assert len(phone.files) == 2


async def test_post_from_a_local_folder_takes_its_first_video(
    tmp_path: Path, autojump_clock: object
) -> None:
    for name in ("b.mp4", "a.mp4", "a.txt", ".hidden.mp4", "c.jpg"):
        material(tmp_path, name)
    phone = make_phone()
    task = make_task(material_source="localFolder", material_path=str(tmp_path))

    await run(phone, task)

    [post] = phone.posts
    assert post.media == ("/sdcard/DCIM/Camera/phonefarm_7_0_a.mp4",)
    assert post.caption == ""
    assert not any(call.startswith("set_text") for call in phone.calls)


async def test_post_without_any_material_source_fails(autojump_clock: object) -> None:
    with pytest.raises(ScriptError, match="needs material_list"):
        await run(make_phone(), make_task())


async def test_post_of_a_missing_file_fails_naming_it(
    tmp_path: Path, autojump_clock: object
) -> None:
    missing = tmp_path / "gone.mp4"
    phone = make_phone()

    with pytest.raises(MaterialNotFoundError) as caught:
        await run(phone, make_task(material_list=[str(missing)]))

    assert str(caught.value) == f"material not found: {missing}"
    assert phone.calls == []


async def test_post_checks_each_file_right_before_its_push(
    tmp_path: Path, autojump_clock: object
) -> None:
    first = material(tmp_path, "1.jpg")
    second = material(tmp_path, "2.jpg")

    class DeletingPhone(SimulatedPhone):
        async def push(self, local_path: Path, remote_path: str) -> None:
            await super().push(local_path, remote_path)
            second.unlink()

    phone = DeletingPhone("SIM1", step_delay_s=0, push_bytes_per_s=math.inf)
    task = make_task(
        content_type=1, image_count=2, material_list=[str(first), str(second)]
    )

    with pytest.raises(MaterialNotFoundError) as caught:
        await run(phone, task)

    assert str(caught.value) == f"material not found: {second}"
    assert [c for c in phone.calls if c.startswith("push")] == [
        "push /sdcard/DCIM/Camera/phonefarm_7_0_1.jpg"
    ]


async def test_post_of_an_empty_folder_fails_naming_it(
    tmp_path: Path, autojump_clock: object
) -> None:
    task = make_task(material_source="localFolder", material_path=str(tmp_path))

    with pytest.raises(MaterialNotFoundError) as caught:
        await run(make_phone(), task)

    assert str(caught.value) == f"material not found: {tmp_path}"


async def test_post_refuses_a_file_outside_the_material_dirs(
    tmp_path: Path, autojump_clock: object
) -> None:
    allowed = tmp_path / "allowed"
    outside = material(tmp_path / "private", "secret.mp4")
    material(allowed, "ok.mp4")
    phone = make_phone()

    with pytest.raises(MaterialNotAllowedError) as caught:
        await run(
            phone,
            make_task(material_list=[str(outside)]),
            material_dirs=(allowed,),
        )

    assert str(caught.value) == f"material outside the material folders: {outside}"
    assert phone.files == {}


@pytest.mark.parametrize(
    "escape", ["dotdot", "symlink", "missing"], ids=lambda x: str(x)
)
async def test_post_refuses_paths_that_lead_out_of_the_material_dirs(
    tmp_path: Path, escape: str, autojump_clock: object
) -> None:
    allowed = tmp_path / "allowed"
    secret = material(tmp_path / "private", "secret.mp4")
    allowed.mkdir()
    if escape == "dotdot":
        path = allowed / ".." / "private" / "secret.mp4"
    elif escape == "symlink":
        path = allowed / "link.mp4"
        path.symlink_to(secret)
    else:  # refused, not "not found": the error must not reveal existence
        path = tmp_path / "private" / "nothing.mp4"
    phone = make_phone()

    with pytest.raises(MaterialNotAllowedError):
        await run(phone, make_task(material_list=[str(path)]), material_dirs=(allowed,))
    assert phone.files == {}


async def test_post_refuses_a_folder_outside_the_material_dirs(
    tmp_path: Path, autojump_clock: object
) -> None:
    material(tmp_path / "private", "a.mp4")
    task = make_task(
        material_source="localFolder", material_path=str(tmp_path / "private")
    )

    with pytest.raises(MaterialNotAllowedError):
        await run(make_phone(), task, material_dirs=(tmp_path / "allowed",))


async def test_post_accepts_files_inside_the_material_dirs(
    tmp_path: Path, autojump_clock: object
) -> None:
    video = material(tmp_path / "allowed" / "sub", "ok.mp4")
    phone = make_phone()

    await run(
        phone,
        make_task(material_list=[str(video)]),
        material_dirs=(tmp_path / "allowed",),
    )

    assert len(phone.posts) == 1


async def test_post_fails_naming_a_missing_element(
    tmp_path: Path, autojump_clock: object
) -> None:
    phone = make_phone()
    phone.hide("post button")
    task = make_task(material_list=[str(material(tmp_path))], captions="hi")
    start = trio.current_time()

    with pytest.raises(ElementNotFoundError) as caught:
        await run(phone, task, step_timeout_s=4)

    assert str(caught.value) == "element not found: Post button"
    assert trio.current_time() - start == pytest.approx(4)
    assert phone.posts == []


async def test_post_with_an_empty_gallery_fails_on_the_first_item(
    tmp_path: Path, autojump_clock: object
) -> None:
    phone = make_phone()
    phone.hide("gallery item")

    with pytest.raises(ElementNotFoundError) as caught:
        await run(phone, make_task(material_list=[str(material(tmp_path))]))

    assert str(caught.value) == "element not found: Gallery item 1"


async def test_post_fails_when_the_upload_never_finishes(
    tmp_path: Path, autojump_clock: object
) -> None:
    phone = make_phone()
    phone.slow_uploads()
    task = make_task(material_list=[str(material(tmp_path))], upload_wait_time=45)

    with pytest.raises(UploadTimeoutError) as caught:
        async with _timed() as elapsed:
            await run(phone, task)

    assert str(caught.value) == "upload not finished after 45 s"
    assert elapsed() == pytest.approx(45, abs=0.01)
    assert phone.posts == []


async def test_post_waits_for_a_slow_upload_only_as_long_as_it_takes(
    tmp_path: Path, autojump_clock: object
) -> None:
    phone = make_phone(upload_s=12)
    task = make_task(material_list=[str(material(tmp_path))], upload_wait_time=30)

    async with _timed() as elapsed:
        await run(phone, task)

    assert len(phone.posts) == 1
    assert 12 <= elapsed() <= 12 + 0.25  # one poll past the upload, not 30 s


async def test_post_with_realistic_delays_takes_about_a_second(
    tmp_path: Path, autojump_clock: object
) -> None:
    phone = SimulatedPhone("SIM1", seed=3)
    task = make_task(material_list=[str(material(tmp_path))], captions="hi")

    async with _timed() as elapsed:
        await run(phone, task)

    assert len(phone.posts) == 1
    assert 0.7 <= elapsed() <= 2.0


async def test_post_fails_when_the_phone_is_unplugged_mid_script(
    tmp_path: Path, autojump_clock: object
) -> None:
    phone = make_phone(step_delay_s=0.1)
    task = make_task(material_list=[str(material(tmp_path))])

    async def unplug_in_the_gallery() -> None:
        while phone.screen != "gallery":
            await trio.sleep(0.01)
        phone.disconnect()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(unplug_in_the_gallery)
        with pytest.raises(DeviceDisconnectedError) as caught:
            await run(phone, task)

    assert str(caught.value) == "device disconnected"
    assert phone.posts == []


async def test_a_hung_call_is_cancelled_by_the_stop_scope(
    tmp_path: Path, autojump_clock: object
) -> None:
    phone = make_phone()
    phone.hang("click")
    task = make_task(material_list=[str(material(tmp_path))])

    with trio.move_on_after(1.0) as stop:
        await run(phone, task)

    assert stop.cancelled_caught
    assert trio.current_time() == pytest.approx(1.0)
    assert phone.calls[-1] == "click Create button"


async def test_a_stop_during_the_upload_wait_is_a_cancellation(
    tmp_path: Path, autojump_clock: object
) -> None:
    phone = make_phone()
    phone.slow_uploads()
    task = make_task(material_list=[str(material(tmp_path))], upload_wait_time=30)

    with trio.move_on_after(5) as stop:
        await run(phone, task)

    assert stop.cancelled_caught
    assert trio.current_time() == pytest.approx(5)


async def test_a_hung_call_without_a_stop_times_out(
    tmp_path: Path, autojump_clock: object
) -> None:
    phone = make_phone()
    phone.hang("exists")
    task = make_task("follow", target_username="alice")

    with pytest.raises(DriverTimeoutError) as caught:
        await run(phone, task, call_timeout_s=5)

    assert str(caught.value) == "driver call exists timed out after 5 s"
    assert trio.current_time() == pytest.approx(5)


@pytest.mark.parametrize("platform", ["tiktok", "instagram"])
async def test_follow_direct_opens_the_profile_link_and_follows(
    platform: str, autojump_clock: object
) -> None:
    phone = make_phone()
    task = make_task("follow", platform, target_username=" @Alice ")

    await run(phone, task)

    assert phone.followed(platform) == {"alice"}
    assert phone.calls[0] == f"open_url {APPS[platform].profile_url('alice')}"
    assert "click Follow button" in phone.calls


@pytest.mark.parametrize("platform", ["tiktok", "instagram"])
async def test_follow_search_finds_the_exact_name(
    platform: str, autojump_clock: object
) -> None:
    phone = make_phone()
    task = make_task("follow", platform, target_username="bob", access_method="search")

    await run(phone, task)

    assert phone.followed(platform) == {"bob"}
    assert not any(call.startswith("open_url") for call in phone.calls)
    assert "click Search result bob" in phone.calls


async def test_follow_of_an_account_already_followed_taps_nothing(
    autojump_clock: object,
) -> None:
    phone = make_phone(following={"instagram": ["carol"]})
    task = make_task("follow", "instagram", target_username="carol")

    await run(phone, task)

    assert phone.followed("instagram") == {"carol"}
    assert not any(call.startswith("click") for call in phone.calls)


async def test_follow_fails_naming_a_missing_follow_button(
    autojump_clock: object,
) -> None:
    phone = make_phone()
    phone.hide("follow button")

    with pytest.raises(ElementNotFoundError) as caught:
        await run(phone, make_task("follow", target_username="dave"))

    assert str(caught.value) == "element not found: Follow button"
    assert phone.followed("tiktok") == frozenset()


async def test_follow_fails_when_following_never_shows(autojump_clock: object) -> None:
    phone = make_phone()
    phone.hide("following label")

    with pytest.raises(ElementNotFoundError) as caught:
        await run(phone, make_task("follow", target_username="erin"))

    assert str(caught.value) == "element not found: Following label"


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"target_username": "a", "access_method": "telepathy"}, "not supported"),
        ({"target_username": " @ "}, "needs a target_username"),
        ({}, "needs a target_username"),
    ],
)
async def test_follow_refuses_a_bad_config(
    config: dict[str, Any], message: str, autojump_clock: object
) -> None:
    phone = make_phone()

    with pytest.raises(ScriptError, match=message):
        await run(phone, make_task("follow", **config))
    assert phone.followed("tiktok") == frozenset()


async def test_wait_for_polls_short_calls_until_the_deadline(
    autojump_clock: object,
) -> None:
    phone = make_phone()
    never = Selector(name="Nothing", text="nothing at all")

    with pytest.raises(ElementNotFoundError, match="Nothing"):
        await wait_for(phone, never, timeout_s=1.0, poll_s=0.25)

    assert trio.current_time() == pytest.approx(1.0)
    assert phone.calls == ["exists Nothing"] * 5


class _timed:
    """`async with _timed() as elapsed:` measures trio time, even on failure."""

    async def __aenter__(self) -> Any:
        start = trio.current_time()
        self._end: float | None = None

        def elapsed() -> float:
            end = trio.current_time() if self._end is None else self._end
            return end - start

        return elapsed

    async def __aexit__(self, *exc: object) -> None:
        self._end = trio.current_time()
