"""The real server process, driven over HTTP as a user would."""

import signal
import socket
import subprocess
import sys
import time

import pytest
from server_process import ServerProcess, free_port, poll

TASK_DONE_TIMEOUT_S = 30.0


@pytest.fixture
def material(tmp_path):
    video = tmp_path / "video1.mp4"
    video.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(1024))
    return video


def start(servers, data_dir, *args):
    server = ServerProcess(data_dir, *args).start()
    servers.append(server)
    return server


def test_the_readme_example_runs_on_a_simulated_phone_and_survives_kill_9(
    tmp_path, material, servers
):
    data_dir = tmp_path / "data"
    server = start(servers, data_dir, "--simulate", "3")

    devices = server.get("/device")["data"]
    assert devices["total"] == 3
    assert {d["state"] for d in devices["devices"]} == {"online"}
    assert {d["driver"] for d in devices["devices"]} == {"simulated"}

    body = {
        "serials": ["sim-01"],
        "script_name": "post",
        "script_config": {
            "content_type": 0,
            "captions": "Check out my new video! #viral #fyp",
            "material_list": [str(material)],
            "upload_wait_time": 60,
        },
    }
    created = server.post("/task", json=body)
    assert created["code"] == 0, created
    (task_id,) = created["data"]["task_ids"]
    assert created["data"]["created_count"] == 1

    task = poll(
        lambda: (t := server.get(f"/task/{task_id}")["data"])["status"] == 2 and t,
        timeout_s=TASK_DONE_TIMEOUT_S,
    )
    assert task["error"] is None and task["finished_at"] is not None
    stats = server.get("/task/stats")["data"]
    assert stats == {
        "total": 1,
        "pending": 0,
        "running": 0,
        "completed": 1,
        "failed": 0,
    }

    log = server.log()
    for line in ("device connected serial=sim-01", f"task started task_id={task_id}"):
        assert line in log, log
    server.kill()
    again = start(servers, data_dir, "--simulate", "3")
    assert again.get(f"/task/{task_id}")["data"] == task
    # The phones a dead process left online are found again, and logged so.
    assert "device connected serial=sim-01" in again.log()
    assert again.get("/task/stats")["data"] == stats


def test_sigterm_stops_cleanly_within_two_seconds(tmp_path, servers):
    server = start(servers, tmp_path / "data", "--simulate", "1")
    began = time.monotonic()
    assert server.terminate() == 0
    assert time.monotonic() - began < 2.0, server.log()
    assert "Traceback" not in server.log()


def test_ctrl_c_stops_cleanly(tmp_path, servers):
    server = start(servers, tmp_path / "data")
    server.process.send_signal(signal.SIGINT)
    assert server.process.wait(timeout=5) == 0
    assert "Traceback" not in server.log()


def run_serve(*args, timeout_s=20):
    return subprocess.run(
        [sys.executable, "-m", "phonefarm.tools.cli", "serve", *args],
        capture_output=True,
        text=True,
        timeout=timeout_s,
    )


def test_a_port_in_use_is_one_clear_line(tmp_path, servers):
    server = start(servers, tmp_path / "a")
    result = run_serve("--port", str(server.port), "--data-dir", str(tmp_path / "b"))
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "address already in use" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_a_data_dir_that_is_a_file_is_one_clear_line(tmp_path):
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")
    result = run_serve("--port", str(free_port()), "--data-dir", str(not_a_dir))
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "data directory" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_a_second_server_on_the_same_data_dir_refuses(tmp_path, servers):
    start(servers, tmp_path / "data")
    result = run_serve("--port", str(free_port()), "--data-dir", str(tmp_path / "data"))
    assert result.returncode != 0
    assert "in use by another phonefarm process" in result.stderr
    assert "Traceback" not in result.stderr


def test_idle_and_stalled_connections_are_closed_after_the_read_timeout(
    tmp_path, servers
):
    server = start(servers, tmp_path / "data", "--read-timeout", "1")
    idle = socket.create_connection(("127.0.0.1", server.port))
    stalled = socket.create_connection(("127.0.0.1", server.port))
    stalled.sendall(
        b"POST /api/v1/task HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nab"
    )
    for sock in (idle, stalled):
        sock.settimeout(10)
        began = time.monotonic()
        while sock.recv(65536):  # whatever the server says, then its close
            pass
        assert time.monotonic() - began < 8  # idle: hypercorn closes at 5 s
        sock.close()
    assert server.get("/health")["code"] == 0
