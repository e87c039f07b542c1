import pytest
from server_process import ServerProcess


@pytest.fixture
def servers():
    """Servers a test starts (append them); killed at the end if still running."""
    started: list[ServerProcess] = []
    yield started
    for server in started:
        server.stop()
