"""The virtual phone's `sh` and its sync service: only what the driver stack uses.

The legacy (v1) shell gets one command line per stream and answers with
output only; callers that want an exit status append `; echo X4EXIT:$?`
(adbutils' `shell2`, which uiautomator2's `d.shell()` uses). So the
mini shell splits on unquoted `;`, honours single and double quotes as
`shlex.quote` writes them, expands `$?` outside single quotes, and drops
leading `NAME=value` assignments.

Strict on purpose: a command that is not listed here prints `not found`,
exits 127 and is counted in `PhoneState.unknown`, so a test sees the day
the driver (or a library update) starts using something new.
"""

from __future__ import annotations

import hashlib
import logging
import struct
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from phonefarm.tools.adb_transport import Stream

if TYPE_CHECKING:
    from phonefarm.tools.virtual_phone import PhoneState

log = logging.getLogger(__name__)

SYNC_DATA_MAX = 64 * 1024
LAUNCHER_CATEGORY = "android.intent.category.LAUNCHER"
S_IFREG = 0o100000
S_IFDIR = 0o040000


def split_commands(line: str, last_status: Callable[[], int]) -> Iterator[list[str]]:
    """Yield the commands of a line, as words (see the module docstring).

    A generator, so that `$?` in a command is expanded only once the
    commands before it have run.
    """
    words: list[str] = []
    word: list[str] = []
    in_word = False
    i = 0
    while i < len(line):
        ch = line[i]
        if ch == "'":
            end = line.index("'", i + 1)  # ValueError: unbalanced quote
            word.append(line[i + 1 : end])
            in_word, i = True, end + 1
            continue
        if ch == '"':
            end = line.index('"', i + 1)
            word.append(line[i + 1 : end].replace("$?", str(last_status())))
            in_word, i = True, end + 1
            continue
        if ch == "\\" and i + 1 < len(line):
            word.append(line[i + 1])
            in_word, i = True, i + 2
            continue
        if ch.isspace() or ch == ";":
            if in_word:
                words.append("".join(word))
                word, in_word = [], False
            if ch == ";":
                if words:
                    yield words
                words = []
            i += 1
            continue
        if line.startswith("$?", i):
            word.append(str(last_status()))
            in_word, i = True, i + 2
            continue
        word.append(ch)
        in_word, i = True, i + 1
    if in_word:
        words.append("".join(word))
    if words:
        yield words


def run_line(phone: PhoneState, line: str) -> tuple[bytes, int]:
    """Run one shell command line; return its output and last exit status."""
    status = [0]  # read by the splitter when it meets `$?`
    output = bytearray()
    for words in split_commands(line, lambda: status[0]):
        while words and "=" in words[0] and not words[0].startswith("="):
            words = words[1:]  # NAME=value prefixes set the environment only
        if not words:
            continue
        out, status[0] = run_command(phone, words)
        output += out
    return bytes(output), status[0]


def run_command(phone: PhoneState, words: list[str]) -> tuple[bytes, int]:
    name, args = words[0], words[1:]
    if name == "toybox" and args:
        name, args = args[0], args[1:]
    handler = COMMANDS.get(name)
    if handler is None:
        return phone.unknown_command(" ".join(words))
    return handler(phone, args)


def _echo(phone: PhoneState, args: list[str]) -> tuple[bytes, int]:
    return (" ".join(args) + "\n").encode(), 0


def _md5sum(phone: PhoneState, args: list[str]) -> tuple[bytes, int]:
    out = bytearray()
    status = 0
    for path in args:
        content = phone.files.get(path)
        if content is None:
            out += f"md5sum: {path}: No such file or directory\n".encode()
            status = 1
        else:
            out += f"{hashlib.md5(content).hexdigest()}  {path}\n".encode()
    return bytes(out), status


def _getprop(phone: PhoneState, args: list[str]) -> tuple[bytes, int]:
    if not args:
        return phone.unknown_command("getprop (all)")
    return (phone.props.get(args[0], "") + "\n").encode(), 0


def _monkey(phone: PhoneState, args: list[str]) -> tuple[bytes, int]:
    # Only the launch form uiautomator2 and AdbPhone use:
    #   monkey -p PKG -c android.intent.category.LAUNCHER 1
    if len(args) != 5 or args[0] != "-p" or args[2:4] != ["-c", LAUNCHER_CATEGORY]:
        return phone.unknown_command("monkey " + " ".join(args))
    package = args[1]
    with phone.lock:
        if package not in phone.model.apps:
            return b"** No activities found to run, monkey aborted.\n", 252
        phone.model.start_app(package)
    return (
        b"  bash arg: -p\nEvents injected: 1\n## Network stats: elapsed time=6ms\n",
        0,
    )


def _am(phone: PhoneState, args: list[str]) -> tuple[bytes, int]:
    match args:
        case ["force-stop", package]:
            with phone.lock:
                phone.model.stop_app(package)
            return b"", 0
        case ["start", "-a", "android.intent.action.VIEW", "-d", url]:
            with phone.lock:
                phone.model.open_url(url)
            intent = f"Intent {{ act=android.intent.action.VIEW dat={url} }}"
            return f"Starting: {intent}\n".encode(), 0
        case [
            "broadcast",
            "-a",
            "android.intent.action.MEDIA_SCANNER_SCAN_FILE",
            "-d",
            uri,
        ]:
            phone.scan_media(uri.removeprefix("file://"))
            return (
                "Broadcasting: Intent { act=android.intent.action.MEDIA_SCANNER_SCAN_"
                f"FILE dat={uri} flg=0x400000 }}\nBroadcast completed: result=0\n"
            ).encode(), 0
    return phone.unknown_command("am " + " ".join(args))


COMMANDS: dict[str, Callable[[PhoneState, list[str]], tuple[bytes, int]]] = {
    "echo": _echo,
    "md5sum": _md5sum,
    "getprop": _getprop,
    "monkey": _monkey,
    "am": _am,
}


# The sync service (`sync:`): a byte stream of requests, each `id` (4
# bytes) + length (u32 LE) + data. The host may write a SEND, its DATA and
# its DONE in one buffer, cut anywhere, so this reads the stream, never
# packets.


def serve_sync(phone: PhoneState, stream: Stream) -> None:
    """Answer STAT/LIST/SEND/RECV until QUIT or the host closes the stream."""
    while True:
        header = stream.read(8)
        if not header:
            return
        header += stream.read_exact(8 - len(header)) if len(header) < 8 else b""
        request, length = header[:4], struct.unpack("<I", header[4:])[0]
        argument = stream.read_exact(length).decode("utf-8", "replace")
        match request:
            case b"STAT":
                mode, size = phone.stat(argument)
                mtime = int(time.time()) if mode else 0
                stream.write(b"STAT" + struct.pack("<III", mode, size, mtime))
            case b"LIST":
                _list(phone, stream, argument)
            case b"SEND":
                _receive_file(phone, stream, argument)
            case b"RECV":
                _send_file(phone, stream, argument)
            case b"QUIT":
                return
            case _:
                phone.unknown_command(f"sync {request!r}")
                _fail(stream, f"unknown sync request {request!r}")
                return


def _list(phone: PhoneState, stream: Stream, path: str) -> None:
    now = int(time.time())
    for name, mode, size in phone.list_dir(path):
        encoded = name.encode()
        stream.write(b"DENT" + struct.pack("<IIII", mode, size, now, len(encoded)))
        stream.write(encoded)
    stream.write(b"DONE" + bytes(16))


def _receive_file(phone: PhoneState, stream: Stream, argument: str) -> None:
    path, _, _mode = argument.rpartition(",")
    content = bytearray()
    while True:
        kind = stream.read_exact(4)
        value = struct.unpack("<I", stream.read_exact(4))[0]
        if kind == b"DATA":
            content += stream.read_exact(value)
        elif kind == b"DONE":
            break
        else:
            _fail(stream, f"unexpected {kind!r} in SEND")
            return
    error = phone.write_file(path, bytes(content))
    if error:
        _fail(stream, error)
    else:
        stream.write(b"OKAY" + bytes(4))


def _send_file(phone: PhoneState, stream: Stream, path: str) -> None:
    content = phone.files.get(path)
    if content is None:
        _fail(stream, f"remote object '{path}' does not exist")
        return
    for start in range(0, len(content), SYNC_DATA_MAX):
        chunk = content[start : start + SYNC_DATA_MAX]
        stream.write(b"DATA" + struct.pack("<I", len(chunk)) + chunk)
    stream.write(b"DONE" + bytes(4))


def _fail(stream: Stream, message: str) -> None:
    encoded = message.encode()
    stream.write(b"FAIL" + struct.pack("<I", len(encoded)) + encoded)
