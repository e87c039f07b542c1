"""`python -m phonefarm.tools.virtual_phone --port P`: a phone that speaks real ADB.

A separate process that plays adbd on a loopback TCP port, so that the
real adb server (`adb connect 127.0.0.1:P`), adbutils and uiautomator2
drive it exactly as they drive a phone. It serves the simulated phone's
app screens (`actors/sim_screens.py`), so phonefarm's scripts run on it
unchanged. It is the end-to-end tier of the tests, above the in-process
`SimulatedPhone`.

    adb server ─TCP─▶ adb_transport.Connection ─OPEN "svc"─▶ open_service
                        ├─ shell:, exec:  phone_shell.run_line
                        ├─ sync:          phone_shell.serve_sync
                        └─ tcp:9008       phone_rpc.serve_http, while the
                                          agent's shell stream is open

What a real phone does and this one copies: u2.jar must be pushed before
`app_process` can start the agent; the agent's port exists only while the
shell stream that started it is open; a pushed file reaches the gallery
only after a media scan broadcast; pushes outside /sdcard and
/data/local/tmp fail as on a phone that is not rooted.

Strict: unknown shell commands, sync requests, services and RPC methods
are logged at ERROR with `UNKNOWN` and fail (exit 127, FAIL, a refused
stream, JSON-RPC -32601). It prints `virtual phone listening on
127.0.0.1:PORT` once it accepts connections; stop it with SIGTERM.
"""

from __future__ import annotations

import argparse
import logging
import socket
import sys
import threading
import time
from pathlib import Path, PurePosixPath

from phonefarm.actors.sim_screens import Element, PhoneModel, render_hierarchy
from phonefarm.actors.simulated import WRITABLE_ROOTS
from phonefarm.tools import phone_rpc, phone_shell
from phonefarm.tools.adb_transport import Connection, Service, Stream

log = logging.getLogger("phonefarm.virtual_phone")

AGENT_PORT = 9008
AGENT_JAR = "/data/local/tmp/u2.jar"
AGENT_MAIN = "com.wetest.uia2.Main"
DIRECTORIES = frozenset(
    {
        "/",
        "/data",
        "/data/local",
        "/data/local/tmp",
        "/sdcard",
        "/sdcard/DCIM",
        "/sdcard/DCIM/Camera",
        "/sdcard/Download",
        "/storage/emulated/0",
    }
)


class PhoneState:
    """Everything on the phone: files, apps (the screen model), the agent.

    Shared by all service threads; `lock` guards the model.
    """

    def __init__(self, *, model_name: str, upload_s: float) -> None:
        self.lock = threading.RLock()
        self.model = PhoneModel()
        self.upload_s = upload_s
        self.files: dict[str, bytes] = {}
        self.directories = set(DIRECTORIES)
        self.unknown: list[str] = []
        self.agent_streams = 0
        self.props = {
            "ro.product.model": model_name,
            "ro.product.name": "vphone",
            "ro.product.device": "vphone",
            "ro.build.version.sdk": "33",
            "ro.build.version.release": "13",
        }

    @property
    def banner(self) -> str:
        props = ";".join(
            f"{key}={self.props[key]}"
            for key in ("ro.product.name", "ro.product.model", "ro.product.device")
        )
        # Advertising only `cmd` keeps every client on the v1 paths: legacy
        # shell, sync STAT/SEND/RECV/LIST, no delayed acks.
        return f"device::{props};features=cmd"

    def unknown_command(self, what: str) -> tuple[bytes, int]:
        log.error("UNKNOWN %s", what)
        self.unknown.append(what)
        name = what.split(" ", 1)[0]
        return f"/system/bin/sh: {name}: inaccessible or not found\n".encode(), 127

    # Files.

    def stat(self, path: str) -> tuple[int, int]:
        path = _normal(path)
        if path in self.files:
            return phone_shell.S_IFREG | 0o644, len(self.files[path])
        if path in self.directories:
            return phone_shell.S_IFDIR | 0o771, 4096
        return 0, 0

    def list_dir(self, path: str) -> list[tuple[str, int, int]]:
        path = _normal(path)
        entries = []
        for name, content in sorted(self.files.items()):
            if str(PurePosixPath(name).parent) == path:
                entries.append((PurePosixPath(name).name, 0o100644, len(content)))
        return entries

    def write_file(self, path: str, content: bytes) -> str | None:
        """Store a pushed file; the error message a phone gives, or None."""
        path = _normal(path)
        if not path.startswith(WRITABLE_ROOTS):
            return f"couldn't create file: Read-only file system ({path})"
        self.files[path] = content
        parent = PurePosixPath(path).parent
        while str(parent) not in self.directories:
            self.directories.add(str(parent))
            parent = parent.parent
        return None

    def scan_media(self, path: str) -> None:
        """What MediaStore does for MEDIA_SCANNER_SCAN_FILE: list the file."""
        path = _normal(path)
        content = self.files.get(path)
        if content is None:
            return  # a scan of a missing file is silently a no-op on Android too
        with self.lock:
            self.model.push(path, Path(path), len(content))

    # Screens (call with `lock` held).

    def advance(self) -> None:
        self.model.advance(time.monotonic(), self.upload_s)

    def elements(self) -> list[Element]:
        return self.model.elements(time.monotonic())

    def hierarchy(self) -> str:
        return render_hierarchy(self.elements(), self.model.foreground)

    def tap_at(self, x: int, y: int) -> None:
        """A tap at a point reaches the topmost clickable element there."""
        hits = [
            e
            for e in self.elements()
            if e.clickable
            and e.bounds[0] <= x < e.bounds[2]
            and e.bounds[1] <= y < e.bounds[3]
        ]
        if hits:
            self.model.tap(hits[-1], time.monotonic(), self.upload_s)

    # Services.

    def open_service(self, name: str) -> Service | None:
        """The service for an OPEN, or None to refuse it."""
        log.debug("open service=%s", name)
        if name.startswith("shell:") or name.startswith("exec:"):
            command = name.partition(":")[2]
            if _is_agent_command(command):
                return self._run_agent
            return lambda stream: self._run_shell(stream, command)
        if name == "sync:":
            return lambda stream: phone_shell.serve_sync(self, stream)
        if name == f"tcp:{AGENT_PORT}":
            if not self.agent_streams:
                return None  # nothing listens on the port: connection refused
            return lambda stream: phone_rpc.serve_http(self, stream)
        self.unknown_command(f"service {name}")
        return None

    def _run_shell(self, stream: Stream, command: str) -> None:
        try:
            output, _status = phone_shell.run_line(self, command)
        except ValueError:  # an unbalanced quote
            output = b"/system/bin/sh: syntax error: unterminated quoted string\n"
        stream.write(output)

    def _run_agent(self, stream: Stream) -> None:
        """`app_process ... com.wetest.uia2.Main -p 9008`: the agent, while open."""
        if AGENT_JAR not in self.files:
            stream.write(
                f"Error: Could not find or load main class {AGENT_MAIN}\n".encode()
            )
            return
        with self.lock:
            self.agent_streams += 1
        log.info("uiautomator agent started")
        try:
            stream.write(b"[server] INFO: [UiAutomator2Server] Starting Server\n")
            stream.wait_closed()
        finally:
            with self.lock:
                self.agent_streams -= 1
            log.info("uiautomator agent stopped")


def _is_agent_command(command: str) -> bool:
    words = command.split()
    return (
        f"CLASSPATH={AGENT_JAR}" in words
        and "app_process" in words
        and AGENT_MAIN in words
        and words[-2:] == ["-p", str(AGENT_PORT)]
    )


def _normal(path: str) -> str:
    normal = str(PurePosixPath(path))
    return normal if normal.startswith("/") else "/" + normal


def serve(listener: socket.socket, phone: PhoneState) -> None:
    """Accept host connections forever, one thread each."""
    while True:
        sock, _address = listener.accept()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # small OKAYs
        connection = Connection(sock, phone.banner, phone.open_service)
        threading.Thread(target=connection.serve, daemon=True).start()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="virtual_phone", description=__doc__)
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--model", default="VirtualPhone")
    parser.add_argument(
        "--upload-s", type=float, default=0.3, help="how long a post uploads"
    )
    parser.add_argument(
        "--log-level", default="info", choices=("debug", "info", "warning", "error")
    )
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
        stream=sys.stderr,
    )
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind(("127.0.0.1", args.port))  # loopback only, always
    except OSError as exc:
        print(
            f"virtual_phone: cannot listen on port {args.port}: {exc}", file=sys.stderr
        )
        return 1
    listener.listen(8)
    phone = PhoneState(model_name=args.model, upload_s=args.upload_s)
    port = listener.getsockname()[1]
    print(f"virtual phone listening on 127.0.0.1:{port}", flush=True)
    try:
        serve(listener, phone)
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
