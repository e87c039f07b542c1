"""`AdbPhone`: the driver interface over a real phone, through uiautomator2 + adbutils.

Both libraries are synchronous, so every call runs in a worker thread
(`trio.to_thread.run_sync`), one at a time per phone, and is bounded by
`call_timeout_s`. The thread is abandoned when the bound or a stop
cancels it: a worker thread cannot be interrupted, but the script can
move on at once, and the abandoned call ends on its own: shell and RPC
sockets get `call_timeout_s` as their timeout. Limitation: adbutils'
sync push sets no socket timeout, so an abandoned push to a phone that
hangs keeps its thread until the adb server drops the phone.

Waiting is the scripts' job (`actors/scripts/steps.py` polls `exists`).
uiautomator2's own waits are never used: `d(...).click()`, `set_text()`
and `wait()` start with an RPC `waitForExists` that blocks for up to 20 s
on the phone. Instead:

- `exists` is one `exist` RPC, which does not wait;
- `click` reads the element's bounds (`objInfo`, which raises
  `UiObjectNotFoundException` at once when nothing matches) and taps the
  centre of its visible bounds, as uiautomator2's `click()` does after its
  wait;
- `set_text` calls the `setText` RPC directly.

Errors are translated here, once: a missing element is
`ElementNotFoundError`; any failure while adb no longer reports the phone
in state `device` is `DeviceDisconnectedError`; a call over its bound is
`DriverTimeoutError`; the rest of adbutils' and uiautomator2's errors are
`DeviceError` carrying their message.
"""

from __future__ import annotations

import base64
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import adbutils
import trio

from phonefarm.actors.driver import Selector
from phonefarm.core.errors import (
    DeviceDisconnectedError,
    DeviceError,
    DriverTimeoutError,
    ElementNotFoundError,
    MaterialNotFoundError,
    PhonefarmError,
    ScriptError,
)

if TYPE_CHECKING:
    import uiautomator2

log = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_CALL_TIMEOUT_S = 10.0
# Connecting pushes u2.jar (3.7 MB) when its md5 differs, starts the agent
# with `app_process` and polls `/ping` every 0.5 s until it answers.
DEFAULT_CONNECT_TIMEOUT_S = 45.0
MIN_PUSH_BYTES_PER_S = 1_000_000
# Where MediaStore looks; a file pushed elsewhere is not scanned.
MEDIA_ROOTS = ("/sdcard/", "/storage/emulated/0/")
UIAUTOMATOR_PORT = 9008


class AdbPhone:
    """One phone reached through an adb server; satisfies the `Driver` protocol.

    `device` is an `adbutils.AdbDevice` of a client bound to the adb
    server phonefarm uses. The uiautomator2 agent is started on the first
    call that needs it, not here, so building an `AdbPhone` does no I/O.
    """

    kind = "adb"

    def __init__(
        self,
        device: adbutils.AdbDevice,
        *,
        model: str = "",
        call_timeout_s: float = DEFAULT_CALL_TIMEOUT_S,
        connect_timeout_s: float = DEFAULT_CONNECT_TIMEOUT_S,
    ) -> None:
        assert device.serial is not None
        self.serial: str = device.serial
        self.model = model or "Android phone"
        self.call_timeout_s = call_timeout_s
        self.connect_timeout_s = connect_timeout_s
        self._device = device
        self._u2: uiautomator2.Device | None = None
        self._u2_lock = threading.Lock()  # guards the lazy connect across threads
        self._calls = trio.Lock()  # one call at a time per phone

    # The driver interface.

    async def app_start(self, package: str) -> None:
        # u2's `app_start(pkg)` runs the same monkey command but drops its
        # output; reading it tells a missing app from a started one.
        output = await self._shell(
            "app_start",
            ["monkey", "-p", package, "-c", "android.intent.category.LAUNCHER", "1"],
        )
        if "No activities found" in output:  # "** No activities found to run, ..."
            raise DeviceError(f"app not installed: {package}")

    async def app_stop(self, package: str) -> None:
        await self._shell("app_stop", ["am", "force-stop", package])

    async def open_url(self, url: str) -> None:
        # `am start` exits 0 even when nothing handles the intent; it says so
        # on stdout: "Error: Activity not started, unable to resolve Intent".
        output = await self._shell(
            "open_url",
            ["am", "start", "-a", "android.intent.action.VIEW", "-d", url],
        )
        if "Error:" in output:
            raise DeviceError(f"open_url failed: {_first_line(output, 'Error:')}")

    async def exists(self, selector: Selector) -> bool:
        def call() -> bool:
            d = self._connected()
            return bool(
                d.jsonrpc.exist(_u2_selector(d, selector), http_timeout=self._http_s)
            )

        return await self._run("exists", call, selector, agent=True)

    async def click(self, selector: Selector) -> None:
        def call() -> None:
            d = self._connected()
            info = d.jsonrpc.objInfo(
                _u2_selector(d, selector), http_timeout=self._http_s
            )
            x, y = _centre(info)
            d.jsonrpc.click(x, y, http_timeout=self._http_s)

        await self._run("click", call, selector, agent=True)

    async def set_text(self, selector: Selector, text: str) -> None:
        def call() -> bool:
            d = self._connected()
            u2_selector = _u2_selector(d, selector)
            if not text:
                return bool(
                    d.jsonrpc.clearTextField(u2_selector, http_timeout=self._http_s)
                )
            return bool(d.jsonrpc.setText(u2_selector, text, http_timeout=self._http_s))

        # uiautomator's UiObject.setText answers false for a view that takes
        # no text (it is not an EditText).
        if not await self._run("set_text", call, selector, agent=True) and text:
            raise ScriptError(f"element is not a text field: {selector.name}")

    async def push(self, local_path: Path, remote_path: str) -> None:
        """Copy a file with adb sync, then ask MediaStore to scan it.

        `MaterialNotFoundError` if `local_path` is not a file.
        """
        try:
            size_bytes = local_path.stat().st_size
        except OSError:
            raise MaterialNotFoundError(str(local_path)) from None
        if not local_path.is_file():
            raise MaterialNotFoundError(str(local_path))

        def call() -> None:
            try:
                self._device.sync.push(str(local_path), remote_path, mode=0o644)
            except FileNotFoundError:
                raise MaterialNotFoundError(str(local_path)) from None
            except adbutils.AdbError as exc:
                if self._attached():
                    # e.g. "Read-only file system" outside /sdcard on a phone
                    # that is not rooted.
                    raise DeviceError(f"push failed: {remote_path}: {exc}") from exc
                raise
            if remote_path.startswith(MEDIA_ROOTS):
                self._scan_media(remote_path)

        timeout_s = self.call_timeout_s + size_bytes / MIN_PUSH_BYTES_PER_S
        await self._run("push", call, timeout_s=timeout_s)

    async def dump_hierarchy(self) -> str:
        def call() -> str:
            # Straight to the RPC: `d.dump_hierarchy()` retries an empty dump
            # three times with a 1 s sleep between tries.
            d = self._connected()
            return str(
                d.jsonrpc.dumpWindowHierarchy(False, 50, http_timeout=self._http_s)
            )

        return await self._run("dump_hierarchy", call, agent=True)

    async def screenshot(self) -> bytes:
        def call() -> bytes:
            d = self._connected()
            encoded = d.jsonrpc.takeScreenshot(1, 80, http_timeout=self._http_s)
            if encoded:  # a JPEG, base64
                return base64.b64decode(encoded)
            # The agent may answer null when it cannot capture; uiautomator2's
            # own `screenshot()` falls back to screencap the same way.
            return bytes(self._device.shell(["screencap", "-p"], encoding=None))

        return await self._run("screenshot", call, agent=True)

    # Internals.

    @property
    def _http_s(self) -> float:
        return self.call_timeout_s

    def _scan_media(self, remote_path: str) -> None:
        # A file pushed with adb is not in MediaStore, so no gallery lists it
        # until it is scanned. MEDIA_SCANNER_SCAN_FILE is deprecated since
        # Android 10 (API 29). Limitation: on a phone that ignores it, pushed
        # files stay out of the gallery; a fallback (e.g. `cmd media` or
        # `content call` scan, which differ per Android version) is not
        # written yet because no real phone has been tried here.
        self._device.shell(
            [
                "am",
                "broadcast",
                "-a",
                "android.intent.action.MEDIA_SCANNER_SCAN_FILE",
                "-d",
                f"file://{remote_path}",
            ]
        )

    async def _shell(self, call: str, args: list[str]) -> str:
        def run() -> str:
            return str(self._device.shell(args, timeout=self.call_timeout_s))

        return await self._run(call, run)

    def _connected(self) -> uiautomator2.Device:
        """The uiautomator2 device, connecting (and starting its agent) once."""
        with self._u2_lock:
            if self._u2 is None:
                import uiautomator2

                log.debug("starting uiautomator2 agent serial=%s", self.serial)
                self._u2 = uiautomator2.connect(self._device)
            return self._u2

    def _attached(self) -> bool:
        """Whether adb still reports this phone in state `device`."""
        try:
            return self._device.get_state() == "device"
        except (adbutils.AdbError, OSError):
            return False

    async def _run(
        self,
        call: str,
        fn: Callable[[], T],
        selector: Selector | None = None,
        *,
        agent: bool = False,
        timeout_s: float | None = None,
    ) -> T:
        """Run `fn` in a worker thread, bounded, its errors translated.

        `agent`: `fn` uses the uiautomator2 agent, so the first such call
        also starts it and gets `connect_timeout_s`. Safe to cancel: the
        thread is abandoned and the caller returns at once. Raises the
        `PhonefarmError`s of the module docstring.
        """
        if timeout_s is None:
            connecting = agent and self._u2 is None
            timeout_s = self.connect_timeout_s if connecting else self.call_timeout_s
        target = selector.name if selector else ""
        log.debug("driver call serial=%s call=%s target=%s", self.serial, call, target)

        def guarded() -> T:
            try:
                return fn()
            except PhonefarmError:
                raise
            except Exception as exc:
                raise self._translate(exc, call, selector) from exc

        async with self._calls:
            with trio.move_on_after(timeout_s) as scope:
                return await trio.to_thread.run_sync(guarded, abandon_on_cancel=True)
        assert scope.cancelled_caught
        raise DriverTimeoutError(call, timeout_s)

    def _translate(
        self, exc: Exception, call: str, selector: Selector | None
    ) -> PhonefarmError | Exception:
        """Map a third-party error to ours; runs in the worker thread."""
        import uiautomator2.exceptions as u2e

        if isinstance(exc, u2e.UiObjectNotFoundError) and selector is not None:
            return ElementNotFoundError(selector.name)
        if isinstance(exc, adbutils.AdbTimeout | u2e.HTTPTimeoutError | TimeoutError):
            if not self._attached():
                return DeviceDisconnectedError(self.serial)
            return DriverTimeoutError(call, self.call_timeout_s)
        if isinstance(exc, adbutils.AdbError | u2e.BaseException | OSError | EOFError):
            if not self._attached():
                return DeviceDisconnectedError(self.serial)
            return DeviceError(f"{call} failed: {type(exc).__name__}: {exc}")
        return exc  # a bug, not the phone: let it crash the script loudly


def _u2_selector(d: uiautomator2.Device, selector: Selector) -> Any:
    """uiautomator2's UiSelector dict for one of our selectors."""
    fields = {
        "text": selector.text,
        "resourceId": selector.resource_id,
        "description": selector.description,
    }
    return d(**{k: v for k, v in fields.items() if v is not None}).selector


def _centre(info: dict[str, Any]) -> tuple[int, int]:
    """The centre of an `objInfo` answer's visible bounds.

    The answer's shape, as uiautomator2's `UiObject.bounds()` reads it:
        {"bounds": {"bottom": 2360, "left": 560, "right": 1040, "top": 2240},
         "visibleBounds": {...}, "className": "android.widget.Button",
         "text": "Post", "resourceName": "...:id/post", "enabled": true, ...}
    """
    bounds = info.get("visibleBounds") or info["bounds"]
    return (
        (bounds["left"] + bounds["right"]) // 2,
        (bounds["top"] + bounds["bottom"]) // 2,
    )


def _first_line(output: str, marker: str) -> str:
    for line in output.splitlines():
        if marker in line:
            return line.strip()
    return output.strip()


def read_model(device: adbutils.AdbDevice) -> str:
    """The phone's model name (`getprop ro.product.model`); blocking."""
    return str(device.shell(["getprop", "ro.product.model"], timeout=5)).strip()
