"""`AdbPhone`'s boundary: bounded calls, prompt stops, errors translated once.

A stand-in for `adbutils.AdbDevice` makes hangs and failures on demand;
the real libraries against a virtual phone are tests/e2e/test_adb_phone.py.
"""

import threading

import adbutils
import pytest
import trio

from phonefarm.actors.adb_driver import AdbPhone
from phonefarm.core.errors import (
    DeviceDisconnectedError,
    DeviceError,
    DriverTimeoutError,
)


class FakeDevice:
    serial = "R58M"

    def __init__(self, *, state: str = "device", fail: Exception | None = None):
        self.state = state
        self.fail = fail
        self.release = threading.Event()
        self.hang = False
        self.commands: list[list[str]] = []

    def shell(self, args, timeout=None):
        self.commands.append(args)
        if self.hang:
            self.release.wait(10)
        if self.fail is not None:
            raise self.fail
        return ""

    def get_state(self) -> str:
        if self.state == "absent":
            raise adbutils.AdbError("device 'R58M' not found")
        return self.state


@pytest.fixture
def device():
    fake = FakeDevice()
    yield fake
    fake.release.set()  # let an abandoned worker thread finish


async def test_a_hung_call_is_a_driver_timeout(device):
    device.hang = True
    phone = AdbPhone(device, call_timeout_s=0.05)
    with pytest.raises(DriverTimeoutError, match=r"app_stop timed out after 0\.05 s"):
        await phone.app_stop("com.zhiliaoapp.musically")


async def test_a_stop_lands_while_a_call_hangs_in_its_thread(device):
    device.hang = True
    phone = AdbPhone(device, call_timeout_s=30)
    with trio.move_on_after(0.05) as scope:
        await phone.app_stop("com.zhiliaoapp.musically")
    assert scope.cancelled_caught


async def test_an_adb_error_with_the_phone_gone_is_a_disconnect():
    phone = AdbPhone(
        FakeDevice(state="absent", fail=adbutils.AdbError("device offline"))
    )
    with pytest.raises(DeviceDisconnectedError, match="device disconnected"):
        await phone.open_url("https://www.tiktok.com/@someone")


async def test_an_adb_error_with_the_phone_there_is_a_device_error():
    phone = AdbPhone(FakeDevice(fail=adbutils.AdbError("closed")))
    with pytest.raises(DeviceError, match="app_stop failed: AdbError: closed"):
        await phone.app_stop("com.zhiliaoapp.musically")


async def test_open_url_sends_a_view_intent(device):
    phone = AdbPhone(device)
    await phone.open_url("https://www.tiktok.com/@someone")
    assert device.commands == [
        [
            "am",
            "start",
            "-a",
            "android.intent.action.VIEW",
            "-d",
            "https://www.tiktok.com/@someone",
        ]
    ]
