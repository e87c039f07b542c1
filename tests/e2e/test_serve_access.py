"""`serve --token`, `--disable-api`, `--max-body`, and the refusal to listen openly."""

import os
import subprocess
import sys

import httpx
import pytest
from server_process import ServerProcess

from phonefarm.tools.cli import main

TOKEN = "s3cret-token"


def start(servers, tmp_path, *args) -> ServerProcess:
    server = ServerProcess(tmp_path / "data", *args).start()
    servers.append(server)
    return server


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--host", "0.0.0.0"], ["--token", "--material-dir", "PHONEFARM_TOKEN"]),
        (["--host", "192.0.2.7", "--token", TOKEN], ["--material-dir"]),
        (["--host", "::", "--material-dir", "/tmp"], ["--token"]),
        (["--token", ""], ["must not be empty"]),
        (["--token", "two words"], ["printable ASCII"]),
    ],
)
def test_serve_refuses_unsafe_settings_in_one_line(tmp_path, capsys, args, words):
    code = main(["serve", "--data-dir", str(tmp_path / "data"), *args])
    assert code != 0
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith("phonefarm: ")
    for word in words:
        assert word in err
    assert not (tmp_path / "data").exists()  # refused before anything started


def test_the_token_from_the_environment_refuses_no_header(
    tmp_path, servers, monkeypatch
):
    monkeypatch.setenv("PHONEFARM_TOKEN", TOKEN)
    server = start(servers, tmp_path, "--max-body", "2048")

    bare = httpx.get(f"{server.base_url}/task/stats", timeout=5)
    assert (bare.status_code, bare.json()["code"]) == (401, 40101)
    assert bare.headers["WWW-Authenticate"].startswith("Bearer")
    headers = {"Authorization": f"Bearer {TOKEN}"}
    authorized = httpx.get(f"{server.base_url}/task/stats", headers=headers)
    assert (authorized.status_code, authorized.json()["code"]) == (200, 0)

    big = httpx.post(
        f"{server.base_url}/task",
        headers=headers,
        content=b'{"pad": "' + b"x" * 2048 + b'"}',
        timeout=5,
    )
    assert (big.status_code, big.json()["code"]) == (413, 41301)
    assert "2048 bytes" in big.json()["message"]


def test_disable_api_answers_like_the_starter_plan(tmp_path, servers):
    server = start(servers, tmp_path, "--disable-api", "--token", TOKEN)
    headers = {"Authorization": f"Bearer {TOKEN}"}

    license_check = httpx.get(f"{server.base_url}/license/check", headers=headers)
    assert (license_check.status_code, license_check.json()) == (
        403,
        {
            "code": 40301,
            "message": "API access is disabled on this server (serve --disable-api)",
            "data": None,
        },
    )
    health = httpx.get(f"{server.base_url}/health", headers=headers)
    assert health.json()["data"]["status"] == "ok"
    metrics = httpx.get(f"{server.base_url}/metrics", headers=headers)
    assert metrics.status_code == 200 and "phonefarm_tasks" in metrics.text
    no_token = httpx.get(f"{server.base_url}/health")
    assert no_token.status_code == 401


def test_a_bad_adb_server_port_is_one_clear_line(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "phonefarm.tools.cli",
            "serve",
            "--port",
            "0",
            "--data-dir",
            str(tmp_path / "data"),
        ],
        capture_output=True,
        text=True,
        timeout=20,
        env={**os.environ, "ANDROID_ADB_SERVER_PORT": "abc"},
    )
    assert result.returncode == 1
    assert result.stderr == (
        "phonefarm: ANDROID_ADB_SERVER_PORT='abc' is not a port (1-65535)\n"
    )
