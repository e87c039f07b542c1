"""The virtual phone's uiautomator2 agent: JSON-RPC over HTTP on device port 9008.

uiautomator2 sends each call as one HTTP/1.1 request on a new adb stream
(`tcp:9008`): `GET /ping` (answered `pong`) or `POST /jsonrpc/0` with
`{"jsonrpc": "2.0", "id": 1, "method": M, "params": [...]}`. The real
agent (NanoHTTPD + jsonrpc4j in u2.jar) answers `{"result": ...}` or
`{"error": {"code": -32001, "message": "<exception class>", "data": ...}}`;
uiautomator2 reads `UiObjectNotFoundException` in the message as
`UiObjectNotFoundError`.

Only the methods phonefarm's driver calls are here. Deliberately absent:
`waitForExists` and `waitUntilGone`, the 20 s blocking waits the driver
must never use, and the clipboard/IME methods. An unknown method answers
JSON-RPC's -32601 and is counted in `PhoneState.unknown`, so a test fails
loudly instead of uiautomator2 quietly taking another code path.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from phonefarm.actors.sim_screens import SCREEN_HEIGHT, SCREEN_WIDTH, Element
from phonefarm.actors.sim_screenshot import screenshot_png
from phonefarm.tools.adb_transport import Stream

if TYPE_CHECKING:
    from phonefarm.tools.virtual_phone import PhoneState

log = logging.getLogger(__name__)

NOT_FOUND = "androidx.test.uiautomator.UiObjectNotFoundException"
MAX_REQUEST_BYTES = 1 << 20
# UiSelector fields this agent can match; `mask` and the empty child/sibling
# lists come with every selector.
SELECTOR_FIELDS = {
    "text": "text",
    "resourceId": "resource_id",
    "description": "description",
    "className": "class_name",
}


class RpcError(Exception):
    def __init__(self, code: int, message: str, data: str = "") -> None:
        self.code = code
        self.message = message
        self.data = data
        super().__init__(message)


def serve_http(phone: PhoneState, stream: Stream) -> None:
    """Answer one HTTP request on a `tcp:9008` stream, then close it."""
    request = bytearray()
    while b"\r\n\r\n" not in request:
        data = stream.read()
        if not data:
            return
        request += data
        if len(request) > MAX_REQUEST_BYTES:
            raise ValueError("request headers too large")
    head, _, body = bytes(request).partition(b"\r\n\r\n")
    request_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {
        name.strip().lower(): value.strip()
        for name, _, value in (line.partition(":") for line in header_lines)
    }
    length = int(headers.get("content-length", "0"))
    if len(body) < length:
        body += stream.read_exact(length - len(body))
    method, path, _version = request_line.split(" ", 2)

    if (method, path) == ("GET", "/ping"):
        _respond(stream, 200, b"pong", "text/plain")
    elif (method, path) == ("POST", "/jsonrpc/0"):
        _respond(stream, 200, json.dumps(handle_jsonrpc(phone, body)).encode())
    else:
        phone.unknown_command(f"http {method} {path}")
        _respond(stream, 404, b"not found", "text/plain")


def handle_jsonrpc(phone: PhoneState, body: bytes) -> dict[str, Any]:
    call = json.loads(body)
    method, params = call.get("method"), call.get("params") or []
    answer: dict[str, Any] = {"jsonrpc": "2.0", "id": call.get("id")}
    handler = METHODS.get(method) if isinstance(method, str) else None
    try:
        if handler is None:
            phone.unknown_command(f"rpc {method}")
            raise RpcError(-32601, f"Method not found: {method}")
        with phone.lock:
            phone.advance()
            answer["result"] = handler(phone, params)
    except RpcError as exc:
        answer["error"] = {"code": exc.code, "message": exc.message, "data": exc.data}
    return answer


def _respond(
    stream: Stream, status: int, body: bytes, content_type: str = "application/json"
) -> None:
    reason = {200: "OK", 404: "Not Found"}[status]
    head = (
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    stream.write(head.encode() + body)


# The methods. Each runs under the phone's lock, after `advance`.


def _device_info(phone: PhoneState, params: list[Any]) -> dict[str, Any]:
    return {
        "currentPackageName": phone.model.foreground,
        "displayWidth": SCREEN_WIDTH,
        "displayHeight": SCREEN_HEIGHT,
        "displayRotation": 0,
        "displaySizeDpX": 411,
        "displaySizeDpY": 914,
        "naturalOrientation": True,
        "productName": phone.props["ro.product.name"],
        "screenOn": True,
        "sdkInt": int(phone.props["ro.build.version.sdk"]),
    }


def _dump_window_hierarchy(phone: PhoneState, params: list[Any]) -> str:
    return phone.hierarchy()


def _exist(phone: PhoneState, params: list[Any]) -> bool:
    return _find(phone, params[0]) is not None


def _obj_info(phone: PhoneState, params: list[Any]) -> dict[str, Any]:
    element = _require(phone, params[0])
    left, top, right, bottom = element.bounds
    bounds = {"left": left, "top": top, "right": right, "bottom": bottom}
    return {
        "bounds": bounds,
        "visibleBounds": dict(bounds),
        "childCount": 0,
        "className": element.class_name,
        "contentDescription": element.description or None,
        "packageName": phone.model.foreground,
        "resourceName": element.resource_id or None,
        "text": element.text,
        "checkable": False,
        "checked": False,
        "clickable": element.clickable,
        "enabled": element.enabled,
        "focusable": element.clickable or element.editable,
        "focused": False,
        "longClickable": False,
        "scrollable": False,
        "selected": element.selected,
    }


def _click(phone: PhoneState, params: list[Any]) -> bool:
    x, y = params
    phone.tap_at(int(x), int(y))
    return True


def _set_text(phone: PhoneState, params: list[Any]) -> bool:
    element = _require(phone, params[0])
    if not element.editable:
        return False  # UiObject.setText on a view that takes no text
    phone.model.type_text(params[1])
    return True


def _clear_text_field(phone: PhoneState, params: list[Any]) -> bool:
    return _set_text(phone, [params[0], ""])


def _take_screenshot(phone: PhoneState, params: list[Any]) -> str:
    # The real agent sends a JPEG of `params` = [scale, quality]; a PNG of
    # the app's colour is enough to prove the bytes get through.
    image = screenshot_png(phone.model.foreground)
    return base64.b64encode(image).decode()


METHODS: dict[str, Callable[[PhoneState, list[Any]], Any]] = {
    "deviceInfo": _device_info,
    "dumpWindowHierarchy": _dump_window_hierarchy,
    "exist": _exist,
    "objInfo": _obj_info,
    "click": _click,
    "setText": _set_text,
    "clearTextField": _clear_text_field,
    "takeScreenshot": _take_screenshot,
}


def _require(phone: PhoneState, selector: dict[str, Any]) -> Element:
    element = _find(phone, selector)
    if element is None:
        raise RpcError(-32001, NOT_FOUND, f"UiSelector{_shown(selector)}")
    return element


def _find(phone: PhoneState, selector: dict[str, Any]) -> Element | None:
    wanted = _criteria(phone, selector)
    instance = selector.get("instance", 0)
    matches = [
        element
        for element in phone.elements()
        if all(getattr(element, attr) == value for attr, value in wanted)
    ]
    return matches[instance] if instance < len(matches) else None


def _criteria(phone: PhoneState, selector: dict[str, Any]) -> list[tuple[str, Any]]:
    if selector.get("childOrSibling") or selector.get("childOrSiblingSelector"):
        phone.unknown_command(f"selector child/sibling {_shown(selector)}")
        raise RpcError(-32602, "child and sibling selectors are not emulated")
    criteria = []
    for key, value in selector.items():
        if key in ("mask", "childOrSibling", "childOrSiblingSelector", "instance"):
            continue
        if key == "packageName":
            if value != phone.model.foreground:
                criteria.append(("class_name", object()))  # matches nothing
            continue
        if key not in SELECTOR_FIELDS:
            phone.unknown_command(f"selector field {key}")
            raise RpcError(-32602, f"selector field not emulated: {key}")
        criteria.append((SELECTOR_FIELDS[key], value))
    return criteria


def _shown(selector: dict[str, Any]) -> str:
    fields = {k: v for k, v in selector.items() if k not in ("mask",) and v != []}
    return "[" + ", ".join(f"{k}={v!r}" for k, v in fields.items()) + "]"
