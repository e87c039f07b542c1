"""Steps scripts are made of: bounded driver calls, and waits that poll.

A stop is a trio cancellation and must land within a second, so nothing
here makes one long call. Waiting for an element is a loop of short
`exists` calls with `trio.sleep(poll_s)` between them; uiautomator2's own
waits (20 s by default, in a worker thread that cannot be cancelled) are
never used.

Every helper is safe to cancel between any two calls, and lets
`trio.Cancelled` through.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import trio

from phonefarm.actors.driver import Driver, Selector
from phonefarm.core.errors import DriverTimeoutError, ElementNotFoundError

log = logging.getLogger(__name__)

# The slowest transfer a push is allowed before it counts as hung: USB 2
# does ~30 MB/s, adb over Wi-Fi can drop to a few MB/s.
MIN_PUSH_BYTES_PER_S = 1_000_000


class BoundedDriver:
    """Wrap a driver so that each call fails after `timeout_s`.

    A call that overruns raises `DriverTimeoutError` (a hung phone or agent);
    a push gets extra time for the file's size. The wrapper is itself a
    `Driver`.
    """

    def __init__(self, driver: Driver, timeout_s: float) -> None:
        self.inner = driver
        self.timeout_s = timeout_s
        self.serial = driver.serial
        self.model = driver.model
        self.kind = driver.kind

    async def app_start(self, package: str) -> None:
        with self._bounded("app_start"):
            await self.inner.app_start(package)

    async def app_stop(self, package: str) -> None:
        with self._bounded("app_stop"):
            await self.inner.app_stop(package)

    async def open_url(self, url: str) -> None:
        with self._bounded("open_url"):
            await self.inner.open_url(url)

    async def exists(self, selector: Selector) -> bool:
        with self._bounded("exists"):
            return await self.inner.exists(selector)

    async def click(self, selector: Selector) -> None:
        with self._bounded("click"):
            await self.inner.click(selector)

    async def set_text(self, selector: Selector, text: str) -> None:
        with self._bounded("set_text"):
            await self.inner.set_text(selector, text)

    async def push(self, local_path: Path, remote_path: str) -> None:
        try:
            size_bytes = local_path.stat().st_size
        except OSError:  # the driver reports the missing file itself
            size_bytes = 0
        with self._bounded("push", size_bytes / MIN_PUSH_BYTES_PER_S):
            await self.inner.push(local_path, remote_path)

    async def dump_hierarchy(self) -> str:
        with self._bounded("dump_hierarchy"):
            return await self.inner.dump_hierarchy()

    async def screenshot(self) -> bytes:
        with self._bounded("screenshot"):
            return await self.inner.screenshot()

    @contextmanager
    def _bounded(self, call: str, extra_s: float = 0) -> Iterator[None]:
        timeout_s = self.timeout_s + extra_s
        try:
            with trio.fail_after(timeout_s):
                yield
        except trio.TooSlowError:
            raise DriverTimeoutError(call, timeout_s) from None


async def wait_for_any(
    driver: Driver, selectors: Sequence[Selector], timeout_s: float, poll_s: float
) -> Selector:
    """Return the first of `selectors` seen on screen, polling until `timeout_s`.

    Checks at least once, and once more at the deadline. Raises
    `ElementNotFoundError` naming the first selector when none appears.
    """
    deadline = trio.current_time() + timeout_s
    while True:
        for selector in selectors:
            if await driver.exists(selector):
                return selector
        remaining_s = deadline - trio.current_time()
        if remaining_s <= 0:
            raise ElementNotFoundError(selectors[0].name)
        await trio.sleep(min(poll_s, remaining_s))


async def wait_for(
    driver: Driver, selector: Selector, timeout_s: float, poll_s: float
) -> None:
    """Poll until `selector` is on screen; `ElementNotFoundError` after `timeout_s`."""
    await wait_for_any(driver, [selector], timeout_s, poll_s)


async def tap(
    driver: Driver, selector: Selector, timeout_s: float, poll_s: float
) -> None:
    """Click an element, waiting up to `timeout_s` for it to appear first.

    The click is tried straight away: on a phone every call costs tens of
    milliseconds, and the element is usually there already.
    """
    try:
        await driver.click(selector)
        return
    except ElementNotFoundError:
        log.debug("waiting for element name=%s", selector.name)
    await wait_for(driver, selector, timeout_s, poll_s)
    await driver.click(selector)


async def type_text(
    driver: Driver, selector: Selector, text: str, timeout_s: float, poll_s: float
) -> None:
    """Set an input's text, waiting up to `timeout_s` for it to appear first."""
    try:
        await driver.set_text(selector, text)
        return
    except ElementNotFoundError:
        log.debug("waiting for element name=%s", selector.name)
    await wait_for(driver, selector, timeout_s, poll_s)
    await driver.set_text(selector, text)
