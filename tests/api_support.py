"""What the HTTP tests share: a fixed clock, a request helper, bodies."""

import datetime as dt
import json

import trio

NOW_US = 1_714_557_600_000_000  # 2024-05-01 10:00:00 UTC

MAX_BODY = 1 << 20

TASK_FIELDS = {
    "id",
    "serial",
    "username",
    "script_name",
    "script_config",
    "status",
    "status_text",
    "source",
    "enable_multi_account",
    "start_time",
    "scheduled_at",
    "created_at",
    "started_at",
    "finished_at",
    "attempts",
    "error",
    "min_interval",
    "max_interval",
}


class FixedClock:
    def __init__(self, now_us: int, tz: dt.tzinfo = dt.UTC) -> None:
        self._now_us = now_us
        self.tz = tz

    def now_us(self) -> int:
        return self._now_us


async def call(client, method, path, body=None, *, data=None, headers=None, query=None):
    """Send a request; return (HTTP status, envelope), checking its shape."""
    kwargs = {"method": method, "headers": headers or {}, "query_string": query}
    if body is not None:
        kwargs["json"] = body
    elif data is not None:
        kwargs["data"] = data
    response = await client.open(path, **kwargs)
    raw = await response.get_data()
    assert response.content_type == "application/json", raw[:200]
    envelope = json.loads(raw)
    assert set(envelope) == {"code", "message", "data"}
    if envelope["code"] not in (0, 50001):
        assert envelope["data"] is None
    return response.status_code, envelope


def post_body(video, serials=("dev-1",), **fields):
    return {
        "serials": list(serials),
        "script_name": "post",
        "script_config": {"material_list": [video], "captions": "{a|b} #fyp"},
        **fields,
    }


def follow_body(serials=("dev-1",), targets=("alice",), **fields):
    return {
        "serials": list(serials),
        "script_name": "follow",
        "script_config": {"target_users": list(targets)},
        **fields,
    }


async def create(client, body) -> list[int]:
    status, envelope = await call(client, "POST", "/api/v1/task", body)
    assert (status, envelope["code"]) == (200, 0), envelope
    assert envelope["message"] == "success"
    return envelope["data"]["task_ids"]


async def concurrently(*calls):
    """Run the (client, method, path[, body]) calls at once; their answers in order."""
    answers = [None] * len(calls)

    async def one(index, args):
        answers[index] = await call(*args)

    async with trio.open_nursery() as nursery:
        for index, args in enumerate(calls):
            nursery.start_soon(one, index, args)
    return answers
