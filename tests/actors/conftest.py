import pytest
import trio.testing


@pytest.fixture
def clock():
    # A test names this fixture itself: pytest-trio runs a test on a clock
    # only when the test function takes it directly. Runtimes under it
    # commit on the event loop (commit_in_thread=False), so autojump never
    # mistakes an fsync in a worker thread for idleness.
    return trio.testing.MockClock(autojump_threshold=0)


@pytest.fixture
def material(tmp_path):
    """A file the post script can push."""
    path = tmp_path / "clip.mp4"
    path.write_bytes(b"video")
    return path
