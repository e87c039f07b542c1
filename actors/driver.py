"""The driver interface scripts use to work a phone.

Two drivers implement it: `actors/simulated.py` (an in-process model of a
phone, for the demo and most tests) and `actors/adb_driver.py` (real phones
through uiautomator2 and adbutils). Every call is short and bounded: a
script waits by polling `exists`, never by one long blocking call, so a
stop (a trio cancellation) lands between two calls within a second.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import msgspec


class Selector(msgspec.Struct, frozen=True, kw_only=True):
    """Finds one UI element; `name` is how errors and logs call it."""

    name: str
    text: str | None = None
    resource_id: str | None = None
    description: str | None = None


class Driver(Protocol):
    """One phone. Methods raise `DeviceDisconnectedError` when it is gone."""

    serial: str
    model: str
    kind: str  # "simulated" or "adb", as `GET /device` shows it

    async def app_start(self, package: str) -> None:
        """Launch an app (or bring it to the front)."""

    async def app_stop(self, package: str) -> None:
        """Force-stop an app."""

    async def open_url(self, url: str) -> None:
        """Open a URL with the phone's default handler (an app's deep link)."""

    async def exists(self, selector: Selector) -> bool:
        """Whether the element is on screen now; does not wait."""

    async def click(self, selector: Selector) -> None:
        """Tap the element; `ElementNotFoundError` if it is not on screen now."""

    async def set_text(self, selector: Selector, text: str) -> None:
        """Replace the text of an input element; `ElementNotFoundError` if absent."""

    async def push(self, local_path: Path, remote_path: str) -> None:
        """Copy a file from the server's disk to the phone.

        `MaterialNotFoundError` if `local_path` is not a file: it can vanish
        between the script's check and the push.
        """

    async def dump_hierarchy(self) -> str:
        """The current UI hierarchy as uiautomator's XML."""

    async def screenshot(self) -> bytes:
        """The screen as an image (PNG or JPEG bytes)."""
