"""`SimulatedPhone`: the driver interface over an in-process model of a phone.

The screens live in `actors/sim_screens.py`; this module adds what makes
it feel like a phone to a script, and what makes it useful to tests:

- every call takes a short time (`step_delay_s`, drawn from a `Random`
  seeded per phone, so a run is reproducible), through `trio.sleep`, so
  it follows MockClock in tests;
- it is strict: a selector that matches nothing on the current screen
  raises `ElementNotFoundError`, as uiautomator2 does;
- faults on demand: `disconnect`/`reconnect`, `hang(call)`, `hide(...)`
  and `slow_uploads(...)`.

A selector matches an element when every field it sets (text,
resource_id, description) equals the element's.
"""

from __future__ import annotations

import collections
import logging
import math
import random
from collections.abc import Iterable, Mapping
from pathlib import Path

import trio

from phonefarm.actors.driver import Selector
from phonefarm.actors.selectors import APPS
from phonefarm.actors.sim_screens import (
    Element,
    PhoneModel,
    Post,
    PushedFile,
    render_hierarchy,
)
from phonefarm.actors.sim_screenshot import screenshot_png
from phonefarm.core.errors import (
    DeviceDisconnectedError,
    DeviceError,
    ElementNotFoundError,
    MaterialNotFoundError,
    ScriptError,
)

log = logging.getLogger(__name__)

DRIVER_CALLS = frozenset(
    {
        "app_start",
        "app_stop",
        "open_url",
        "exists",
        "click",
        "set_text",
        "push",
        "dump_hierarchy",
        "screenshot",
    }
)
# adb push to anywhere else fails on a phone that is not rooted.
WRITABLE_ROOTS = ("/sdcard/", "/storage/emulated/0/", "/data/local/tmp/")
DEFAULT_STEP_DELAY_S = (0.05, 0.12)


class SimulatedPhone:
    """One simulated phone; satisfies the `Driver` protocol.

    `step_delay_s` is a fixed delay per call or a `(low, high)` range drawn
    uniformly; 0 makes calls instant (each is still a trio checkpoint).
    `upload_s` is how long a post stays "uploading" after the Post tap.
    `following` seeds accounts each app already follows, by platform.
    """

    kind = "simulated"

    def __init__(
        self,
        serial: str,
        *,
        model: str = "Pixel 7 (simulated)",
        step_delay_s: float | tuple[float, float] = DEFAULT_STEP_DELAY_S,
        seed: int | str | None = None,
        upload_s: float = 0.3,
        push_bytes_per_s: float = 30e6,
        following: Mapping[str, Iterable[str]] | None = None,
    ) -> None:
        self.serial = serial
        self.model = model
        self.step_delay_s = step_delay_s
        self.upload_s = upload_s
        self.push_bytes_per_s = push_bytes_per_s
        self.calls: list[str] = []  # "click Post button", no payloads
        self._random = random.Random(serial if seed is None else seed)
        self._screens = PhoneModel(following)
        self._connected = True
        self._hangs: collections.Counter[str] = collections.Counter()
        self._hidden: list[Selector] = []

    # Observable state, for tests and the demo. Reading it inside a trio
    # run first publishes the uploads whose time has come.

    @property
    def connected(self) -> bool:
        return self._connected

    @property
    def files(self) -> dict[str, PushedFile]:
        """Files pushed to the phone, by phone path."""
        return dict(self._screens.files)

    @property
    def posts(self) -> list[Post]:
        """Published posts, oldest first."""
        self._advance()
        return list(self._screens.posts)

    def followed(self, platform: str) -> frozenset[str]:
        return frozenset(self._screens.app(platform).following)

    @property
    def foreground(self) -> str:
        """The package on screen (the launcher's or the browser's if no app)."""
        return self._screens.foreground

    @property
    def screen(self) -> str:
        """The name of the foreground app's screen, e.g. "gallery"."""
        return self._screens.screen

    # Fault injection.

    def disconnect(self) -> None:
        """Unplug: every call raises `DeviceDisconnectedError`, calls under way too.

        The phone itself carries on: an upload in progress still finishes.
        """
        log.debug("simulated phone unplugged serial=%s", self.serial)
        self._connected = False

    def reconnect(self) -> None:
        log.debug("simulated phone plugged back serial=%s", self.serial)
        self._connected = True

    def hang(self, call: str, times: int = 1) -> None:
        """Make the next `times` calls named `call` block until cancelled."""
        if call not in DRIVER_CALLS:
            raise ValueError(f"not a driver call: {call!r}")
        self._hangs[call] += times

    def hide(self, target: str | Selector) -> None:
        """Make elements vanish: a selector, or a selector key of `APPS`.

        A key ("post button") hides that element in every app; a field that
        is a template ("Media {n}") is ignored, so "gallery item" hides
        every gallery cell.
        """
        self._hidden.extend(_targets(target))

    def show(self, target: str | Selector) -> None:
        """Undo `hide` for the same target."""
        for selector in _targets(target):
            self._hidden.remove(selector)

    def slow_uploads(self, upload_s: float = math.inf) -> None:
        """Make uploads take `upload_s` (default: never finish), those under way too."""
        self.upload_s = upload_s

    # The driver interface.

    async def app_start(self, package: str) -> None:
        await self._step("app_start", package)
        if package not in self._screens.apps:
            raise DeviceError(f"app not installed: {package}")
        self._screens.start_app(package)

    async def app_stop(self, package: str) -> None:
        await self._step("app_stop", package)
        self._screens.stop_app(package)

    async def open_url(self, url: str) -> None:
        await self._step("open_url", url)
        self._screens.open_url(url)

    async def exists(self, selector: Selector) -> bool:
        await self._step("exists", selector.name)
        return self._find(selector) is not None

    async def click(self, selector: Selector) -> None:
        await self._step("click", selector.name)
        element = self._find(selector)
        if element is None:
            raise ElementNotFoundError(selector.name)
        self._screens.tap(element, trio.current_time(), self.upload_s)

    async def set_text(self, selector: Selector, text: str) -> None:
        await self._step("set_text", selector.name)
        element = self._find(selector)
        if element is None:
            raise ElementNotFoundError(selector.name)
        if not element.editable:
            raise ScriptError(f"element is not a text field: {selector.name}")
        self._screens.type_text(text)

    async def push(self, local_path: Path, remote_path: str) -> None:
        """Copy a file; `MaterialNotFoundError` if the local file is gone."""
        try:
            size_bytes = local_path.stat().st_size
        except OSError:
            size_bytes = -1
        await self._step("push", remote_path, size_bytes / self.push_bytes_per_s)
        if size_bytes < 0 or not local_path.is_file():
            raise MaterialNotFoundError(str(local_path))
        if not remote_path.startswith(WRITABLE_ROOTS):
            raise DeviceError(f"push failed: {remote_path}: Read-only file system")
        self._screens.push(remote_path, local_path, size_bytes)

    async def dump_hierarchy(self) -> str:
        await self._step("dump_hierarchy")
        return render_hierarchy(self._visible(), self._screens.foreground)

    async def screenshot(self) -> bytes:
        await self._step("screenshot")
        return screenshot_png(self._screens.foreground)

    # Internals.

    async def _step(self, call: str, detail: str = "", extra_s: float = 0) -> None:
        """Take one call's time; raise if the phone is (or gets) unplugged."""
        self._check_connected()
        self.calls.append(f"{call} {detail}".rstrip())
        log.debug("driver call serial=%s call=%s target=%s", self.serial, call, detail)
        if self._hangs[call]:
            self._hangs[call] -= 1
            log.debug("driver call hangs serial=%s call=%s", self.serial, call)
            await trio.sleep_forever()
        await trio.sleep(self._delay_s() + max(extra_s, 0))
        self._check_connected()
        self._advance()

    def _check_connected(self) -> None:
        if not self._connected:
            raise DeviceDisconnectedError(self.serial)

    def _delay_s(self) -> float:
        if isinstance(self.step_delay_s, tuple):
            return self._random.uniform(*self.step_delay_s)
        return self.step_delay_s

    def _advance(self) -> None:
        try:
            now = trio.current_time()
        except RuntimeError:  # outside a trio run: no clock to move by
            return
        self._screens.advance(now, self.upload_s)

    def _visible(self) -> list[Element]:
        return [
            element
            for element in self._screens.elements(trio.current_time())
            if not any(_matches(element, hidden) for hidden in self._hidden)
        ]

    def _find(self, selector: Selector) -> Element | None:
        return next((e for e in self._visible() if _matches(e, selector)), None)


def _matches(element: Element, selector: Selector) -> bool:
    wanted = (
        (selector.text, element.text),
        (selector.resource_id, element.resource_id),
        (selector.description, element.description),
    )
    return all(want is None or want == have for want, have in wanted)


def _targets(target: str | Selector) -> list[Selector]:
    if isinstance(target, Selector):
        return [target]
    found = [app.selectors[target] for app in APPS.values() if target in app.selectors]
    if not found:
        raise KeyError(f"no app has a selector named {target!r}")
    return [_without_templates(selector) for selector in found]


def _without_templates(selector: Selector) -> Selector:
    def fixed(value: str | None) -> str | None:
        return None if value is None or "{" in value else value

    return Selector(
        name=selector.name,
        text=fixed(selector.text),
        resource_id=fixed(selector.resource_id),
        description=fixed(selector.description),
    )
