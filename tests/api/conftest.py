"""Fixtures of the HTTP tests: a runtime with three registered phones, a client."""

import random

import pytest
from api_support import NOW_US, FixedClock

from phonefarm.actors.runtime import RuntimeConfig, open_runtime
from phonefarm.core.commands import MarkDeviceOnline
from phonefarm.http.app import create_app


@pytest.fixture
def clock():
    return FixedClock(NOW_US)


@pytest.fixture
async def runtime(request, tmp_path, clock):
    config = RuntimeConfig(data_dir=tmp_path / "data")
    # Under MockClock, commit on the event loop (see actors/writer.py).
    in_thread = "mock_clock" not in request.fixturenames
    async with open_runtime(config, clock=clock, commit_in_thread=in_thread) as rt:
        await rt.writer.submit_all(
            [
                MarkDeviceOnline(serial=serial, model="Pixel 7", driver="adb")
                for serial in ("dev-1", "dev-2", "dev-3")
            ]
        )
        yield rt


@pytest.fixture
async def client(runtime):
    app = create_app(runtime, rng=random.Random(5))
    async with app.test_app() as test_app:
        yield test_app.test_client()


@pytest.fixture
def video(tmp_path):
    path = tmp_path / "video1.mp4"
    path.write_bytes(b"mp4")
    return str(path)
