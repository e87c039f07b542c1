"""Request inputs parsed by hand: path ids, query numbers and the JSON body.

Quart's converters would answer a bad id with a 404 and its JSON helpers
depend on Content-Type; the contract wants 40001 naming the field, and a
body judged by its bytes alone.
"""

from __future__ import annotations

import hashlib
from typing import Any

import msgspec
from quart import request
from werkzeug.routing import BaseConverter, ValidationError

from phonefarm.core.errors import BodyTooLargeError, InvalidParameterError

MAX_BODY_BYTES = 1 << 20
MAX_ID = (1 << 63) - 1
_MAX_ID_DIGITS = len(str(MAX_ID))
RESERVED_TASK_PATHS = frozenset({"stats", "batch", "retry-all"})

_decode_json = msgspec.json.Decoder().decode


class TaskIdConverter(BaseConverter):
    """One path segment that is not a reserved word; parsed in the handler.

    Refusing `stats`, `batch` and `retry-all` here makes the router treat
    them as the static routes they are: `DELETE /task/stats` is then a
    wrong method (405), never a task id.
    """

    def to_python(self, value: str) -> str:
        if value in RESERVED_TASK_PATHS:
            raise ValidationError()
        return value


def parse_task_id(raw: str) -> int:
    value = parse_count(raw, "task_id")
    if value < 1:
        raise InvalidParameterError("task_id", "must be a positive integer")
    return value


def parse_count(raw: str, field: str) -> int:
    """A non-negative integer written in plain ASCII digits that fits 63 bits."""
    if not raw or not raw.isascii() or not raw.isdigit():
        raise InvalidParameterError(
            field, f"must be a whole number in digits, got {raw!r}"
        )
    digits = raw.lstrip("0") or "0"
    if len(digits) > _MAX_ID_DIGITS or int(digits) > MAX_ID:
        raise InvalidParameterError(field, f"must be at most {MAX_ID}")
    return int(digits)


def query_arg(name: str) -> str | None:
    """A query parameter; given empty (`?status=`) counts as not given."""
    value = request.args.get(name)
    return value or None


def query_bool(name: str) -> bool:
    value = query_arg(name)
    if value is None or value == "false":
        return False
    if value == "true":
        return True
    raise InvalidParameterError(name, "must be true or false")


async def read_json_object(limit_bytes: int) -> dict[str, Any]:
    """Read the request body (at most `limit_bytes`) as a JSON object.

    The declared length is checked before anything is read, and a body
    without one (chunked) is counted as it arrives, so an oversized body
    is refused without being held whole.
    """
    declared = request.content_length
    if declared is not None and declared > limit_bytes:
        raise BodyTooLargeError(limit_bytes)
    received = bytearray()
    async for chunk in request.body:
        received += chunk
        if len(received) > limit_bytes:
            raise BodyTooLargeError(limit_bytes)

    try:
        body = _decode_json(bytes(received))
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise _body_error(str(exc)) from None
    except RecursionError:
        raise InvalidParameterError("body", "is nested too deeply") from None
    if not isinstance(body, dict):
        raise InvalidParameterError("body", "must be a JSON object")
    return body


def _body_error(reason: str) -> InvalidParameterError:
    # An untyped decode cannot name object keys (msgspec says `$[...][0]`),
    # so a huge integer is named by its kind rather than by its field.
    if reason.startswith("Integer value out of range"):
        where = reason.partition(" - at ")[2]
        return InvalidParameterError(
            "body", f"holds an integer too large to store (at {where or '$'})"
        )
    return InvalidParameterError("body", f"must be valid UTF-8 JSON: {reason}")


MAX_IDEMPOTENCY_KEY_CHARS = 255
_encode_sorted = msgspec.json.Encoder(order="sorted").encode


def idempotency_key() -> str | None:
    """The request's `Idempotency-Key` header: printable ASCII, 1–255 chars."""
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    if not 0 < len(key) <= MAX_IDEMPOTENCY_KEY_CHARS or not (
        key.isascii() and key.isprintable()
    ):
        raise InvalidParameterError(
            "Idempotency-Key",
            f"must be 1 to {MAX_IDEMPOTENCY_KEY_CHARS} printable ASCII characters",
        )
    return key


def body_digest(body: dict[str, Any]) -> str:
    """SHA-256 of the parsed body: "the same body" is the same JSON value."""
    return hashlib.sha256(_encode_sorted(body)).hexdigest()
