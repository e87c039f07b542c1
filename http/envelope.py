"""The response envelope every answer uses: `{"code", "message", "data"}`."""

from __future__ import annotations

from typing import Any

import msgspec
from quart import Response

SUCCESS_CODE = 0
SUCCESS_MESSAGE = "success"
JSON_CONTENT_TYPE = "application/json"


class Envelope(msgspec.Struct, frozen=True):
    code: int
    message: str
    data: Any = None


_encoder = msgspec.json.Encoder()


def envelope_response(
    code: int,
    message: str,
    data: Any = None,
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    """Encode an envelope; `data` may hold msgspec Structs, dicts and lists."""
    body = _encoder.encode(Envelope(code, message, data))
    return Response(
        body, status=status, headers=headers, content_type=JSON_CONTENT_TYPE
    )


def success(data: Any) -> Response:
    return envelope_response(SUCCESS_CODE, SUCCESS_MESSAGE, data)
