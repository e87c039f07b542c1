"""The simulated phone: its screens, its strictness, and its faults."""

from __future__ import annotations

import inspect
import math
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import trio

from phonefarm.actors.driver import Driver, Selector
from phonefarm.actors.selectors import APPS, AppProfile
from phonefarm.actors.simulated import DRIVER_CALLS, SimulatedPhone
from phonefarm.core.errors import (
    DeviceDisconnectedError,
    DeviceError,
    ElementNotFoundError,
    MaterialNotFoundError,
    ScriptError,
)

TIKTOK = APPS["tiktok"]
INSTAGRAM = APPS["instagram"]


def phone(**kwargs: object) -> SimulatedPhone:
    kwargs.setdefault("step_delay_s", 0)
    kwargs.setdefault("push_bytes_per_s", math.inf)
    return SimulatedPhone("SIM1", **kwargs)  # type: ignore[arg-type]


def nodes(xml: str) -> list[dict[str, str]]:
    root = ET.fromstring(xml)
    assert root.tag == "hierarchy"
    return [node.attrib for node in root.iter("node")]


def node_matches(node: dict[str, str], selector: Selector) -> bool:
    pairs = [
        (selector.text, node["text"]),
        (selector.resource_id, node["resource-id"]),
        (selector.description, node["content-desc"]),
    ]
    return all(want is None or want == have for want, have in pairs)


def media(tmp_path: Path, name: str = "clip.mp4", size: int = 1000) -> Path:
    path = tmp_path / name
    path.write_bytes(b"\0" * size)
    return path


async def open_gallery(sim: SimulatedPhone, app: AppProfile) -> None:
    await sim.app_start(app.package)
    await sim.click(app.selector("create button"))
    await sim.click(app.selector("upload button"))


def test_simulated_phone_has_every_driver_call_with_its_signature() -> None:
    calls = {
        name
        for name, member in vars(Driver).items()
        if inspect.iscoroutinefunction(member)
    }

    assert calls == DRIVER_CALLS
    for name in calls:
        ours = inspect.signature(getattr(SimulatedPhone, name))
        assert ours == inspect.signature(getattr(Driver, name)), name
    sim: Driver = phone()
    assert (sim.serial, sim.kind) == ("SIM1", "simulated")
    assert sim.model


def test_apps_have_the_same_selector_keys() -> None:
    assert TIKTOK.selectors.keys() == INSTAGRAM.selectors.keys()
    assert TIKTOK.package == "com.zhiliaoapp.musically"
    assert INSTAGRAM.package == "com.instagram.android"
    assert TIKTOK.profile_url("bob") == "https://www.tiktok.com/@bob"
    assert INSTAGRAM.profile_url("bob") == "https://www.instagram.com/bob"


@pytest.mark.parametrize("platform", ["tiktok", "instagram"])
async def test_every_selector_finds_its_element_in_a_dump(
    platform: str, tmp_path: Path, autojump_clock: object
) -> None:
    """The selectors (what scripts believe) agree with the app model."""
    app = APPS[platform]
    sim = phone(upload_s=1.0, following={platform: ["carol"]})
    seen: list[dict[str, str]] = []

    async def look() -> None:
        seen.extend(nodes(await sim.dump_hierarchy()))

    await sim.push(media(tmp_path), "/sdcard/DCIM/Camera/clip.mp4")
    await sim.app_start(app.package)
    await sim.click(app.selector("create button"))
    await look()
    await sim.click(app.selector("upload button"))
    await sim.click(app.selector("select multiple"))
    await look()
    await sim.click(app.selector("gallery item", n=1))
    await sim.click(app.selector("next button"))
    await look()
    await sim.click(app.selector("post button"))
    await look()  # uploading: the home screen with its create and search buttons
    await trio.sleep(1.0)
    await look()
    await sim.click(app.selector("search button"))
    await sim.set_text(app.selector("search field"), "alice")
    await look()
    await sim.click(app.selector("search result", username="alice"))
    await look()
    await sim.open_url(app.profile_url("carol"))
    await look()

    for key in app.selectors:
        selector = app.selector(key, n=1, username="alice")
        assert any(node_matches(n, selector) for n in seen), key


async def test_dump_hierarchy_reads_like_uiautomator() -> None:
    sim = phone()
    await sim.app_start(TIKTOK.package)

    xml = await sim.dump_hierarchy()

    assert xml.startswith("<?xml version='1.0' encoding='UTF-8' standalone='yes' ?>")
    root = ET.fromstring(xml)
    assert root.attrib == {"rotation": "0"}
    frame, *children = root.iter("node")
    assert frame.attrib["bounds"] == "[0,0][1080,2400]"
    assert {n.attrib["package"] for n in root.iter("node")} == {TIKTOK.package}
    create = next(n for n in children if n.attrib["content-desc"] == "Create")
    assert create.attrib["clickable"] == "true"
    assert create.attrib["bounds"] == "[480,2250][600,2370]"


async def test_dump_hierarchy_escapes_typed_text() -> None:
    sim = phone()
    await sim.app_start(TIKTOK.package)
    await sim.click(TIKTOK.selector("search button"))

    await sim.set_text(TIKTOK.selector("search field"), 'a"<b>&\nc')

    texts = [n["text"] for n in nodes(await sim.dump_hierarchy())]
    assert 'a"<b>&\nc' in texts


async def test_click_on_an_element_not_on_screen_raises_with_its_name() -> None:
    sim = phone()
    await sim.app_start(TIKTOK.package)

    with pytest.raises(ElementNotFoundError) as caught:
        await sim.click(TIKTOK.selector("post button"))
    assert str(caught.value) == "element not found: Post button"
    assert not await sim.exists(TIKTOK.selector("post button"))
    assert sim.screen == "home"


async def test_a_selector_must_match_every_field_it_sets() -> None:
    sim = phone()
    await sim.app_start(TIKTOK.package)
    wrong_id = Selector(name="Create", description="Create", resource_id="x:id/nope")

    assert await sim.exists(Selector(name="Create", description="Create"))
    assert not await sim.exists(wrong_id)


async def test_pushed_media_shows_in_the_gallery_newest_first(tmp_path: Path) -> None:
    sim = phone(upload_s=0)
    await sim.push(media(tmp_path, "a.mp4"), "/sdcard/DCIM/Camera/a.mp4")
    await sim.push(media(tmp_path, "b.jpg"), "/sdcard/DCIM/Camera/b.jpg")
    await sim.push(media(tmp_path, "notes.txt"), "/sdcard/Download/notes.txt")

    await open_gallery(sim, TIKTOK)

    assert sim.files["/sdcard/DCIM/Camera/a.mp4"].size_bytes == 1000
    cells = [n["content-desc"] for n in nodes(await sim.dump_hierarchy())]
    assert [c for c in cells if c.startswith("Media")] == ["Media 1", "Media 2"]
    await sim.click(TIKTOK.selector("gallery item", n=1))
    await sim.click(TIKTOK.selector("next button"))
    await sim.click(TIKTOK.selector("post button"))
    assert [p.media for p in sim.posts] == [("/sdcard/DCIM/Camera/b.jpg",)]


async def test_next_is_disabled_until_something_is_picked(tmp_path: Path) -> None:
    sim = phone()
    await sim.push(media(tmp_path), "/sdcard/DCIM/Camera/a.mp4")
    await open_gallery(sim, INSTAGRAM)

    await sim.click(INSTAGRAM.selector("next button"))

    assert sim.screen == "gallery"


async def test_post_publishes_after_the_upload_time(autojump_clock: object) -> None:
    sim = phone(upload_s=3.0)
    app = INSTAGRAM
    await sim.push(Path(__file__), "/sdcard/DCIM/Camera/a.mp4")
    await open_gallery(sim, app)
    await sim.click(app.selector("gallery item", n=1))
    await sim.click(app.selector("next button"))
    await sim.set_text(app.selector("caption field"), "hello #sim")

    await sim.click(app.selector("post button"))
    posted_at = trio.current_time()

    assert sim.posts == []
    assert not await sim.exists(app.selector("upload finished"))
    await trio.sleep(3.0)
    assert await sim.exists(app.selector("upload finished"))
    [post] = sim.posts
    assert (post.platform, post.caption) == ("instagram", "hello #sim")
    assert post.media == ("/sdcard/DCIM/Camera/a.mp4",)
    assert post.published_at == pytest.approx(posted_at + 3.0)


async def test_slow_uploads_never_finish_and_app_stop_drops_them(
    autojump_clock: object, tmp_path: Path
) -> None:
    sim = phone()
    sim.slow_uploads()
    assert sim.upload_s == math.inf
    await sim.push(media(tmp_path), "/sdcard/DCIM/Camera/a.mp4")
    await open_gallery(sim, TIKTOK)
    await sim.click(TIKTOK.selector("gallery item", n=1))
    await sim.click(TIKTOK.selector("next button"))
    await sim.click(TIKTOK.selector("post button"))

    await trio.sleep(3600)
    assert sim.posts == []
    texts = [n["text"] for n in nodes(await sim.dump_hierarchy())]
    assert "Posting 0%" in texts

    await sim.app_stop(TIKTOK.package)
    sim.slow_uploads(0)
    assert sim.posts == []
    assert sim.foreground != TIKTOK.package


async def test_open_url_opens_the_profile_and_follow_becomes_following() -> None:
    sim = phone()

    await sim.open_url("https://www.tiktok.com/@Alice?lang=en")

    assert (sim.foreground, sim.screen) == (TIKTOK.package, "profile")
    assert await sim.exists(TIKTOK.selector("profile title", username="alice"))
    await sim.click(TIKTOK.selector("follow button"))
    assert await sim.exists(TIKTOK.selector("following label"))
    assert not await sim.exists(TIKTOK.selector("follow button"))
    assert sim.followed("tiktok") == {"alice"}
    assert sim.followed("instagram") == frozenset()


async def test_open_url_of_another_site_opens_the_browser() -> None:
    sim = phone()

    await sim.open_url("https://example.com/x")

    assert sim.screen == "browser"
    assert "https://example.com/x" in [
        n["text"] for n in nodes(await sim.dump_hierarchy())
    ]


async def test_search_lists_look_alikes_around_the_exact_name() -> None:
    sim = phone()
    await sim.app_start(INSTAGRAM.package)
    await sim.click(INSTAGRAM.selector("search button"))

    await sim.set_text(INSTAGRAM.selector("search field"), "bob")

    result_id = INSTAGRAM.selector("search result", username="x").resource_id
    dump = nodes(await sim.dump_hierarchy())
    rows = [n["text"] for n in dump if n["resource-id"] == result_id]
    assert rows == ["bob_official", "bob", "bob.fans"]
    await sim.click(INSTAGRAM.selector("search result", username="bob_official"))
    assert await sim.exists(
        INSTAGRAM.selector("profile title", username="bob_official")
    )


async def test_set_text_on_a_button_is_refused() -> None:
    sim = phone()
    await sim.app_start(TIKTOK.package)

    with pytest.raises(ScriptError, match="not a text field: Create button"):
        await sim.set_text(TIKTOK.selector("create button"), "x")


async def test_push_of_a_missing_file_raises_material_not_found(tmp_path: Path) -> None:
    sim = phone()
    missing = tmp_path / "gone.mp4"

    with pytest.raises(MaterialNotFoundError) as caught:
        await sim.push(missing, "/sdcard/DCIM/Camera/gone.mp4")
    assert str(caught.value) == f"material not found: {missing}"
    with pytest.raises(DeviceError, match="Read-only file system"):
        await sim.push(media(tmp_path), "/system/app/x.mp4")
    assert sim.files == {}


async def test_app_start_of_an_unknown_package_fails() -> None:
    with pytest.raises(DeviceError) as caught:
        await phone().app_start("com.example")
    assert str(caught.value) == "app not installed: com.example"


async def test_disconnect_fails_every_call_until_reconnect(tmp_path: Path) -> None:
    sim = phone()
    sim.disconnect()

    calls = [
        sim.app_start(TIKTOK.package),
        sim.app_stop(TIKTOK.package),
        sim.open_url(TIKTOK.profile_url("a")),
        sim.exists(TIKTOK.selector("create button")),
        sim.click(TIKTOK.selector("create button")),
        sim.set_text(TIKTOK.selector("search field"), "a"),
        sim.push(media(tmp_path), "/sdcard/a.mp4"),
        sim.dump_hierarchy(),
        sim.screenshot(),
    ]
    for call in calls:
        with pytest.raises(DeviceDisconnectedError, match="device disconnected"):
            await call

    sim.reconnect()
    await sim.app_start(TIKTOK.package)
    assert sim.connected and sim.screen == "home"


async def test_disconnect_during_a_call_fails_that_call(autojump_clock: object) -> None:
    sim = phone(step_delay_s=1.0)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(_disconnect_after, sim, 0.5)
        with pytest.raises(DeviceDisconnectedError):
            await sim.app_start(TIKTOK.package)

    assert trio.current_time() == pytest.approx(1.0)


async def _disconnect_after(sim: SimulatedPhone, delay_s: float) -> None:
    await trio.sleep(delay_s)
    sim.disconnect()


async def test_hang_blocks_the_next_such_call_until_cancelled(
    autojump_clock: object,
) -> None:
    sim = phone()
    sim.hang("exists")
    with pytest.raises(ValueError, match="not a driver call"):
        sim.hang("swipe")

    await sim.app_start(TIKTOK.package)  # another call: not hung
    with trio.move_on_after(7) as scope:
        await sim.exists(TIKTOK.selector("create button"))

    assert scope.cancelled_caught
    assert trio.current_time() == pytest.approx(7)
    assert await sim.exists(TIKTOK.selector("create button"))  # only the next one


async def test_hide_makes_an_element_vanish_until_shown() -> None:
    sim = phone()
    await sim.app_start(TIKTOK.package)
    create = TIKTOK.selector("create button")

    sim.hide("create button")

    assert not await sim.exists(create)
    with pytest.raises(ElementNotFoundError, match="Create button"):
        await sim.click(create)
    descriptions = [n["content-desc"] for n in nodes(await sim.dump_hierarchy())]
    assert "Create" not in descriptions
    sim.show("create button")
    assert await sim.exists(create)
    with pytest.raises(KeyError):
        sim.hide("no such selector")


async def test_hiding_a_template_key_hides_every_cell(tmp_path: Path) -> None:
    sim = phone()
    await sim.push(media(tmp_path), "/sdcard/DCIM/Camera/a.mp4")
    await open_gallery(sim, TIKTOK)

    sim.hide("gallery item")

    assert not await sim.exists(TIKTOK.selector("gallery item", n=1))
    assert await sim.exists(TIKTOK.selector("next button"))


async def test_each_call_takes_a_seeded_realistic_time(autojump_clock: object) -> None:
    async def durations(seed: int) -> list[float]:
        sim = SimulatedPhone("SIM1", seed=seed)
        times = []
        for _ in range(20):
            start = trio.current_time()
            await sim.dump_hierarchy()
            times.append(trio.current_time() - start)
        return times

    first = await durations(1)

    assert all(0.05 <= t <= 0.12 for t in first)
    assert len(set(first)) > 1
    assert first == pytest.approx(await durations(1))
    assert first != pytest.approx(await durations(2))


async def test_screenshot_is_a_png() -> None:
    shot = await phone().screenshot()

    assert shot.startswith(b"\x89PNG\r\n\x1a\n")
    assert shot[12:16] == b"IHDR"


async def test_calls_are_recorded_without_payloads() -> None:
    sim = phone()
    await sim.app_start(TIKTOK.package)
    await sim.click(TIKTOK.selector("search button"))

    await sim.set_text(TIKTOK.selector("search field"), "secret words")

    assert sim.calls == [
        f"app_start {TIKTOK.package}",
        "click Search button",
        "set_text Search field",
    ]
