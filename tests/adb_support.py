"""A private adb server and virtual phones, as child processes, for the e2e tier.

Safety (see /work/shared/VIRTUAL_PHONE.md): the adb server gets its own
port, HOME, log path and TMPDIR under the test's temp folder, and
`ADB_MDNS=0`; it runs in the foreground (`adb server nodaemon`) so that
its PID is ours to stop. Everything listens on 127.0.0.1 only.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import adbutils

STARTUP_TIMEOUT_S = 15.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def adb_binaries() -> list[str]:
    """Every adb to test with: Debian's (29) when installed, and adbutils' (36)."""
    # Not adbutils.adb_path(): that prefers whatever `adb` is on PATH.
    bundled = Path(adbutils.__file__).parent / "binaries" / "adb"
    found = [shutil.which("adb"), str(bundled) if bundled.is_file() else None]
    unique = {os.path.realpath(path): path for path in found if path}
    return list(unique.values())


def wait_until(fn, *, timeout_s: float, what: str, interval_s: float = 0.02):
    """Poll `fn` until it returns something truthy; fail after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = fn()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout_s} s")
        time.sleep(interval_s)


def listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


class AdbServer:
    """`adb server nodaemon` on a private port, in a sandboxed environment."""

    def __init__(self, root: Path, binary: str) -> None:
        self.root = root
        self.binary = binary
        self.port = free_port()
        home = root / "home"
        (root / "tmp").mkdir(parents=True, exist_ok=True)
        home.mkdir(parents=True, exist_ok=True)
        self.env = {
            **os.environ,
            "HOME": str(home),
            "ANDROID_ADB_LOG_PATH": str(root / "adb.log"),
            "TMPDIR": str(root / "tmp"),
            "ADB_MDNS": "0",
            "ANDROID_ADB_SERVER_PORT": str(self.port),
            "ANDROID_ADB_SERVER_HOST": "127.0.0.1",
        }
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> AdbServer:
        self.process = subprocess.Popen(
            [self.binary, "-P", str(self.port), "server", "nodaemon"],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=(self.root / "adb-server.err").open("wb"),
        )
        wait_until(
            lambda: self.process.poll() is not None or listening(self.port),
            timeout_s=STARTUP_TIMEOUT_S,
            what="adb server listening",
        )
        assert self.process.poll() is None, (self.root / "adb-server.err").read_text()
        return self

    def client(self) -> adbutils.AdbClient:
        return adbutils.AdbClient(host="127.0.0.1", port=self.port)

    def adb(self, *args: str) -> str:
        done = subprocess.run(
            [self.binary, "-P", str(self.port), *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=20,
        )
        return done.stdout + done.stderr

    def connect(self, phone_port: int) -> str:
        """`adb connect` a virtual phone; return its serial once it is `device`."""
        serial = f"127.0.0.1:{phone_port}"
        output = self.adb("connect", serial)
        assert f"connected to {serial}" in output, output
        wait_until(
            lambda: self.state(serial) == "device",
            timeout_s=STARTUP_TIMEOUT_S,
            what=f"{serial} in state device",
        )
        return serial

    def state(self, serial: str) -> str | None:
        for line in self.adb("devices").splitlines()[1:]:
            fields = line.split("\t")
            if len(fields) == 2 and fields[0] == serial:
                return fields[1]
        return None

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.adb("kill-server")
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()  # by PID: it is our child
            self.process.wait(timeout=5)


class VirtualPhone:
    """`python -m phonefarm.tools.virtual_phone` on a free loopback port."""

    def __init__(self, root: Path, *args: str) -> None:
        self.root = root
        self.args = args
        self.out_path = root / f"vphone-{id(self)}.out"
        self.err_path = root / f"vphone-{id(self)}.err"
        self.process: subprocess.Popen[bytes] | None = None
        self.port = 0

    def start(self, port: int = 0) -> VirtualPhone:
        self.root.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "phonefarm.tools.virtual_phone",
                "--port",
                str(port),
                *self.args,
            ],
            stdout=self.out_path.open("wb"),
            stderr=self.err_path.open("wb"),
        )

        def announced() -> int:
            assert self.process.poll() is None, self.log()
            match = re.search(
                r"listening on 127\.0\.0\.1:(\d+)", self.out_path.read_text()
            )
            return int(match[1]) if match else 0

        self.port = wait_until(
            announced, timeout_s=STARTUP_TIMEOUT_S, what="virtual phone listening"
        )
        return self

    def log(self) -> str:
        return self.err_path.read_text() if self.err_path.exists() else ""

    def unknown(self) -> list[str]:
        """What the phone was asked and does not emulate (it logs `UNKNOWN`)."""
        return [line for line in self.log().splitlines() if " UNKNOWN " in line]

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=5)
