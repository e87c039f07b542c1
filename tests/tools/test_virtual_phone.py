"""The virtual phone's parts, in-process: its shell, its agent, its strictness.

The whole phone, over the real adb server, is tests/e2e/test_adb_phone.py.
"""

import hashlib
import json

from phonefarm.actors.selectors import TIKTOK
from phonefarm.tools.phone_rpc import handle_jsonrpc
from phonefarm.tools.phone_shell import run_line, split_commands
from phonefarm.tools.virtual_phone import AGENT_JAR, PhoneState


def phone() -> PhoneState:
    return PhoneState(model_name="VirtualPhone", upload_s=0.1)


def rpc(state: PhoneState, method: str, *params):
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}
    return handle_jsonrpc(state, json.dumps(body).encode())


def test_the_shell_splits_on_semicolons_and_honours_shlex_quoting():
    words = list(split_commands("echo 'a;b' \"c d\" e\\ f; echo 'it'\"'\"'s'", int))
    assert words == [["echo", "a;b", "c d", "e f"], ["echo", "it's"]]


def test_the_shell_expands_the_last_status_but_not_inside_single_quotes():
    state = phone()
    output, status = run_line(state, "no-such-tool; echo X4EXIT:$?; echo '$?'")
    assert output.endswith(b"X4EXIT:127\n$?\n")
    assert status == 0
    assert state.unknown == ["no-such-tool"]


def test_md5sum_answers_for_a_pushed_file_as_toybox_does():
    state = phone()
    missing, status = run_line(state, f"toybox md5sum {AGENT_JAR}")
    assert (missing, status) == (
        f"md5sum: {AGENT_JAR}: No such file or directory\n".encode(),
        1,
    )
    assert state.write_file(AGENT_JAR, b"jar") is None
    output, status = run_line(state, f"toybox md5sum {AGENT_JAR}")
    assert output == f"{hashlib.md5(b'jar').hexdigest()}  {AGENT_JAR}\n".encode()
    assert status == 0


def test_a_push_outside_the_writable_folders_fails_as_on_a_phone():
    assert "Read-only file system" in phone().write_file("/system/x.mp4", b"x")


def test_a_pushed_file_reaches_the_gallery_only_after_a_media_scan():
    state = phone()
    path = "/sdcard/DCIM/Camera/clip.mp4"
    state.write_file(path, b"video")
    assert state.model.gallery() == []

    output, status = run_line(
        state,
        "am broadcast -a android.intent.action.MEDIA_SCANNER_SCAN_FILE "
        f"-d file://{path}",
    )

    assert status == 0 and b"Broadcast completed: result=0" in output
    assert [f.remote_path for f in state.model.gallery()] == [path]


def test_the_agent_finds_clicks_and_reports_missing_elements():
    state = phone()
    run_line(state, f"monkey -p {TIKTOK.package} -c android.intent.category.LAUNCHER 1")
    create = {"mask": 64, "childOrSibling": [], "description": "Create"}

    assert rpc(state, "exist", create)["result"] is True
    bounds = rpc(state, "objInfo", create)["result"]["visibleBounds"]
    x = (bounds["left"] + bounds["right"]) // 2
    y = (bounds["top"] + bounds["bottom"]) // 2
    assert rpc(state, "click", x, y)["result"] is True
    assert state.model.screen == "camera"

    error = rpc(state, "objInfo", create)["error"]
    assert "UiObjectNotFoundException" in error["message"]


def test_unknown_rpc_methods_and_selector_fields_fail_loudly():
    state = phone()
    assert rpc(state, "waitForExists", {"text": "Post"}, 20000)["error"]["code"] == (
        -32601
    )
    assert rpc(state, "exist", {"textContains": "Po"})["error"]["code"] == -32602
    assert state.unknown == ["rpc waitForExists", "selector field textContains"]


def test_the_agent_port_exists_only_while_its_shell_stream_is_open():
    state = phone()
    assert state.open_service("tcp:9008") is None
    state.agent_streams = 1  # what the open app_process stream holds
    assert state.open_service("tcp:9008") is not None
    assert state.open_service("jdwp:1234") is None
    assert state.unknown == ["service jdwp:1234"]
