"""kill -9 while 200 creates are in flight: nothing acknowledged is lost.

A kill -9 proves atomicity and that an answer is only sent after the
commit; the page cache survives a killed process, so it cannot prove
fsync (surviving a power cut also relies on the disk honouring fsync).
"""

import random
import subprocess
import sys

import httpx
import trio
from server_process import ServerProcess

IN_FLIGHT = 200
ROUNDS = 3


async def create_until_killed(server: ServerProcess, kill_after: int) -> set[int]:
    """Keep IN_FLIGHT creates going; SIGKILL the server after `kill_after` acks."""
    acknowledged: set[int] = set()
    body = {
        "serials": ["sim-01", "sim-02"],
        "script_name": "follow",
        "script_config": {"target_user": "alice"},
    }
    limits = httpx.Limits(
        max_connections=IN_FLIGHT, max_keepalive_connections=IN_FLIGHT
    )
    async with httpx.AsyncClient(
        base_url=server.base_url, limits=limits, timeout=10
    ) as client:

        async def worker() -> None:
            while server.process.poll() is None:
                try:
                    response = await client.post("/task", json=body)
                except httpx.TransportError:
                    return
                answer = response.json()
                assert answer["code"] == 0, answer
                acknowledged.update(answer["data"]["task_ids"])
                if len(acknowledged) >= kill_after and server.process.poll() is None:
                    server.kill()

        async with trio.open_nursery() as nursery:
            for _ in range(IN_FLIGHT):
                nursery.start_soon(worker)
    return acknowledged


async def test_kill_9_under_load_loses_no_acknowledged_task(tmp_path):
    data_dir = tmp_path / "data"
    rng = random.Random()
    acknowledged: set[int] = set()
    for _ in range(ROUNDS):
        server = ServerProcess(data_dir, "--simulate", "2").start()
        try:
            kill_after = len(acknowledged) + rng.randrange(50, 1500)
            acknowledged |= await create_until_killed(server, kill_after)
            assert server.process.returncode == -9
        finally:
            server.stop()

    server = ServerProcess(data_dir, "--simulate", "2").start()
    try:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as client:
            missing = []
            for task_id in sorted(acknowledged):
                answer = (await client.get(f"/task/{task_id}")).json()
                if answer["code"] != 0:
                    missing.append(task_id)
            assert missing == []
            stats = (await client.get("/task/stats")).json()["data"]
            assert stats["total"] >= len(acknowledged)
        assert server.terminate() == 0
    finally:
        server.stop()

    check = subprocess.run(
        [
            sys.executable,
            "-m",
            "phonefarm.tools.cli",
            "rebuild",
            "--check",
            "--data-dir",
            str(data_dir),
        ],
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, check.stdout + check.stderr
