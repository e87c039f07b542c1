"""The event log of a real server: read by API, tailed by the CLI, streamed live."""

import datetime as dt
import json
import resource
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import httpx
from server_process import STARTUP_TIMEOUT_S, ServerProcess, poll

SMALL_MAP = Path(__file__).with_name("small_map.py")
SMALL_MAP_BYTES = 256 * 1024
TASK_DONE_TIMEOUT_S = 30.0
OUTPUT_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 2.0  # the server's promise, with a stream open
STREAM_END_S = 0.9  # below hypercorn's graceful timeout: the stream ended itself


def start(servers, data_dir, *args, map_size_bytes=None):
    """A running server; on a small map (see small_map.py) if asked."""
    server = ServerProcess(data_dir, *args)
    servers.append(server)
    if map_size_bytes is None:
        return server.start()
    server.log_path.parent.mkdir(parents=True, exist_ok=True)
    command = ["serve", "--port", str(server.port), "--data-dir", str(data_dir)]
    server.process = subprocess.Popen(
        [sys.executable, str(SMALL_MAP), str(map_size_bytes), *command, *args],
        stdout=server.log_path.open("a"),
        stderr=subprocess.STDOUT,
    )
    poll(lambda: answers(server), timeout_s=STARTUP_TIMEOUT_S)
    return server


def answers(server):
    if server.process.poll() is not None:
        raise AssertionError(f"server exited early:\n{server.log()}")
    try:
        return server.get("/license/check")["code"] == 0
    except httpx.TransportError:
        return False


def create_follow(server, *targets):
    body = {
        "serials": ["sim-01"],
        "script_name": "follow",
        "script_config": {"target_users": list(targets)},
    }
    answer = server.post("/task", json=body)
    assert answer["code"] == 0, answer
    return answer["data"]["task_ids"]


def cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "phonefarm.tools.cli", *args],
        capture_output=True,
        text=True,
        timeout=30,
    )


def printed_events(path):
    """The JSON lines a follower has printed so far, complete lines only."""
    text = path.read_text()
    return [json.loads(line) for line in text[: text.rfind("\n") + 1].splitlines()]


def test_a_task_history_shows_every_step_in_the_api_and_the_cli(tmp_path, servers):
    data_dir = tmp_path / "data"
    server = start(servers, data_dir, "--simulate", "1")
    (task_id,) = create_follow(server, "alice")
    task = poll(
        lambda: (t := server.get(f"/task/{task_id}")["data"])["status"] == 2 and t,
        timeout_s=TASK_DONE_TIMEOUT_S,
    )

    events = server.get(f"/task/{task_id}/events")["data"]["events"]
    types = [e["type"] for e in events]
    assert types == ["task.created", "task.started", "task.completed"]
    seqs = [e["seq"] for e in events]
    assert seqs == sorted(set(seqs)) and seqs[0] > 1  # after sim-01's connection
    times = [dt.datetime.fromisoformat(e["at"]) for e in events]
    assert times == sorted(times) and all(t.tzinfo is not None for t in times)
    steps = [task["created_at"], task["started_at"], task["finished_at"]]
    assert [e["at"] for e in events] == steps

    # Read-only, beside the live server.
    result = cli(
        "events", "--task", str(task_id), "--json", "--data-dir", str(data_dir)
    )
    assert result.returncode == 0, result.stderr
    assert [json.loads(line) for line in result.stdout.splitlines()] == events


def test_events_follow_tails_the_log_while_the_server_grows_its_map(tmp_path, servers):
    data_dir = tmp_path / "data"
    server = start(servers, data_dir, "--simulate", "1", map_size_bytes=SMALL_MAP_BYTES)
    out_path, err_path = tmp_path / "follow.out", tmp_path / "follow.err"
    follow = ["events", "--follow", "--json", "--data-dir", str(data_dir)]
    follower = subprocess.Popen(
        [sys.executable, str(SMALL_MAP), str(SMALL_MAP_BYTES), *follow],
        stdout=out_path.open("w"),
        stderr=err_path.open("w"),
    )
    try:

        def printed_task(task_id):
            events = printed_events(out_path)
            created = [e for e in events if e["type"] == "task.created"]
            return any(e["task_id"] == task_id for e in created) and events

        (first,) = create_follow(server, "alice")
        poll(lambda: printed_task(first), timeout_s=OUTPUT_TIMEOUT_S)

        # Thousands of tasks in one commit: many times the follower's map.
        create_follow(server, *(f"user{n}" for n in range(3000)))
        assert "store map grown" in server.log()
        (last,) = create_follow(server, "last")
        events = poll(lambda: printed_task(last), timeout_s=OUTPUT_TIMEOUT_S)

        assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
        assert follower.poll() is None, err_path.read_text()
        follower.send_signal(signal.SIGINT)
        assert follower.wait(timeout=10) == 0
        assert err_path.read_text() == ""
    finally:
        if follower.poll() is None:
            follower.kill()
            follower.wait(timeout=10)


@contextmanager
def open_stream(server, **params):
    """`/events/stream` of a server: the response, and an iterator over its lines."""
    with (
        httpx.Client(timeout=10) as client,
        client.stream("GET", server.base_url + "/events/stream", params=params) as r,
    ):
        yield r, r.iter_lines()


def next_event(lines, kind):
    """Read lines until an event of type `kind`; its data."""
    for line in lines:
        if line == f"event: {kind}":
            data = next(lines)
            assert data.startswith("data: ")
            return json.loads(data.removeprefix("data: "))
    raise AssertionError(f"the stream ended before a {kind} event")


def test_a_stream_follows_the_server_and_ends_when_it_stops(tmp_path, servers):
    # Streams log their end at DEBUG.
    server = start(
        servers, tmp_path / "data", "--simulate", "1", "--log-level", "debug"
    )
    with open_stream(server) as (response, lines):
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/event-stream"
        assert next_event(lines, "device.connected")["serial"] == "sim-01"
        (task_id,) = create_follow(server, "alice")
        assert next_event(lines, "task.created")["task_id"] == task_id

        began = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        for _ in lines:  # the server ends the body: no error, no hang
            pass
        stream_ended_s = time.monotonic() - began
        assert server.process.wait(timeout=10) == 0
        stopped_s = time.monotonic() - began
    assert stream_ended_s < STREAM_END_S, server.log()
    assert stopped_s < STOP_TIMEOUT_S, server.log()
    assert "event stream closed" in server.log()
    assert "Traceback" not in server.log()


def test_a_client_that_leaves_closes_its_stream(tmp_path, servers):
    server = start(servers, tmp_path / "data", "--log-level", "debug")
    with open_stream(server, after="0") as (_, lines):
        assert next(lines) == "retry: 2000"
    poll(lambda: "event stream closed" in server.log(), timeout_s=10)


def test_a_full_disk_answers_50001_with_the_reason(tmp_path, servers):
    data_dir = tmp_path / "data"
    server = start(servers, data_dir, "--simulate", "1")
    targets = [f"user{n}" for n in range(2000)]
    body = {
        "serials": ["sim-01"],
        "script_name": "follow",
        "script_config": {"target_users": targets},
    }

    # The server's files may not grow any more: its disk is full. Python
    # ignores SIGXFSZ, so LMDB's writes fail instead of killing it.
    size = (data_dir / "data.mdb").stat().st_size
    pid = server.process.pid
    resource.prlimit(pid, resource.RLIMIT_FSIZE, (size, resource.RLIM_INFINITY))
    try:
        response = httpx.post(server.base_url + "/task", json=body, timeout=10)
        answer = response.json()
        assert (response.status_code, answer["code"]) == (500, 50001), answer
        assert answer["message"].startswith("internal error: store is full: ")
        request_id = answer["data"]["request_id"]
        assert server.get("/task/stats")["data"]["total"] == 0  # nothing half-made
        assert server.get("/events")["code"] == 0
    finally:
        unlimited = (resource.RLIM_INFINITY, resource.RLIM_INFINITY)
        resource.prlimit(pid, resource.RLIMIT_FSIZE, unlimited)

    assert f"request_id={request_id}" in server.log()
    assert len(create_follow(server, *targets)) == len(targets)
    assert server.get("/task/stats")["data"]["total"] == len(targets)
