"""The event log over HTTP: `/task/{id}/events`, `/events` and `/events/stream`.

Streams run under MockClock (the keep-alive is 15 s) and end the way a
server ends them, through the app's stopping event: quart-trio's test
connection waits forever for the rest of a body whose client went away,
so disconnects are tested against a real server (tests/e2e).
"""

import json
import random

import pytest
import trio
import trio.testing
from api_support import call, create, follow_body
from jsonschema_rs import Draft202012Validator

from phonefarm.core.commands import CompleteTask, StartTask
from phonefarm.http.app import create_app
from phonefarm.http.event_routes import KEEPALIVE_S, MAX_LIMIT

AT = "2024-05-01T10:00:00.000+00:00"  # NOW_US, the fixed clock's time
DEVICE_EVENTS = 3  # the runtime fixture registers dev-1, dev-2 and dev-3
BAD_NUMBERS = ["abc", "-1", "1.0", "1e3", "0x10", " 1", "\u0663", "\uff11", "9" * 20]


@pytest.fixture
def mock_clock():
    # The runtime fixture commits on the event loop under this clock.
    return trio.testing.MockClock(autojump_threshold=0)


async def finished_task(client, runtime):
    (task_id,) = await create(client, follow_body())
    await runtime.writer.submit(StartTask(task_id, "dev-1"))
    await runtime.writer.submit(CompleteTask(task_id, 1))
    return task_id


async def test_a_task_history_lists_its_events_in_log_order(client, runtime):
    task_id = await finished_task(client, runtime)
    await create(client, follow_body(serials=["dev-2"]))

    status, envelope = await call(client, "GET", f"/api/v1/task/{task_id}/events")
    assert (status, envelope["code"]) == (200, 0)
    events = envelope["data"]["events"]
    assert [e["type"] for e in events] == [
        "task.created",
        "task.started",
        "task.completed",
    ]
    assert [e["seq"] for e in events] == [4, 5, 6]
    assert {e["version"] for e in events} == {1}
    assert {e["at"] for e in events} == {AT}
    assert {e["task_id"] for e in events} == {task_id}
    assert [e["serial"] for e in events] == ["dev-1", "dev-1", None]
    assert events[2]["data"] == {"task_id": task_id, "attempt": 1}
    assert events[0]["data"]["script_config"]["target_username"] == "alice"


async def test_a_deleted_task_keeps_its_history(client, runtime):
    task_id = await finished_task(client, runtime)
    await call(client, "DELETE", f"/api/v1/task/{task_id}")

    status, envelope = await call(client, "GET", f"/api/v1/task/{task_id}")
    assert envelope["code"] == 40401
    status, envelope = await call(client, "GET", f"/api/v1/task/{task_id}/events")
    assert (status, envelope["code"]) == (200, 0)
    types = [e["type"] for e in envelope["data"]["events"]]
    assert types == ["task.created", "task.started", "task.completed", "task.deleted"]


async def test_a_task_never_created_has_no_history(client):
    status, envelope = await call(client, "GET", "/api/v1/task/42/events")
    assert (status, envelope["code"]) == (404, 40401)
    assert envelope["message"] == "task not found: 42"


@pytest.mark.parametrize("bad", [*BAD_NUMBERS, "0", str(1 << 63)])
async def test_a_bad_task_id_names_task_id(client, bad):
    status, envelope = await call(client, "GET", f"/api/v1/task/{bad}/events")
    assert (status, envelope["code"]) == (400, 40001)
    assert envelope["message"].startswith("task_id")


async def test_the_log_pages_by_seq(client, runtime):
    await finished_task(client, runtime)

    _, envelope = await call(client, "GET", "/api/v1/events")
    page = envelope["data"]
    assert [e["seq"] for e in page["events"]] == [1, 2, 3, 4, 5, 6]
    assert page["next_after"] == 6
    assert page["events"][0]["type"] == "device.connected"
    _, envelope = await call(client, "GET", "/api/v1/events", query={"after": "4"})
    assert [e["seq"] for e in envelope["data"]["events"]] == [5, 6]
    query = {"after": "1", "limit": "2"}
    _, envelope = await call(client, "GET", "/api/v1/events", query=query)
    assert [e["seq"] for e in envelope["data"]["events"]] == [2, 3]
    assert envelope["data"]["next_after"] == 3
    for after in ("6", "1000"):
        _, envelope = await call(
            client, "GET", "/api/v1/events", query={"after": after}
        )
        assert envelope["data"] == {"events": [], "next_after": int(after)}
    _, envelope = await call(client, "GET", "/api/v1/events", query={"after": ""})
    assert envelope["data"]["next_after"] == 6  # given empty counts as not given


async def test_an_event_reads_the_same_everywhere(client, runtime):
    task_id = await finished_task(client, runtime)
    _, history = await call(client, "GET", f"/api/v1/task/{task_id}/events")
    _, log = await call(client, "GET", "/api/v1/events", query={"after": "3"})
    assert history["data"]["events"] == log["data"]["events"]


async def test_a_page_holds_at_most_a_thousand_events(client):
    targets = [f"user{n}" for n in range(MAX_LIMIT + 50)]
    await create(client, follow_body(targets=targets))

    _, envelope = await call(client, "GET", "/api/v1/events", query={"limit": "5000"})
    page = envelope["data"]
    assert len(page["events"]) == MAX_LIMIT
    assert page["next_after"] == MAX_LIMIT
    _, envelope = await call(client, "GET", "/api/v1/events", query={"after": "1000"})
    assert len(envelope["data"]["events"]) == DEVICE_EVENTS + 50
    _, envelope = await call(client, "GET", "/api/v1/events", query={"after": "0"})
    assert len(envelope["data"]["events"]) == 100  # the default limit


@pytest.mark.parametrize("name", ["after", "limit"])
@pytest.mark.parametrize("bad", BAD_NUMBERS)
async def test_a_bad_number_names_its_parameter(client, name, bad):
    status, envelope = await call(client, "GET", "/api/v1/events", query={name: bad})
    assert (status, envelope["code"]) == (400, 40001)
    assert envelope["message"].startswith(f"{name}:")


async def test_a_limit_below_one_is_refused(client):
    status, envelope = await call(client, "GET", "/api/v1/events", query={"limit": "0"})
    assert (status, envelope["code"]) == (400, 40001)
    assert envelope["message"] == "limit: must be at least 1"


# -- the live stream ------------------------------------------------------


class Stream:
    """Reads server-sent events from a test connection, one block at a time."""

    def __init__(self, connection) -> None:
        self.connection = connection
        self._buffer = b""

    async def block(self) -> dict[str, str]:
        """The next block: its fields, a comment as "comment"."""
        while b"\n\n" not in self._buffer:
            self._buffer += await self.connection.receive()
        raw, self._buffer = self._buffer.split(b"\n\n", 1)
        fields = {}
        for line in raw.decode().split("\n"):
            name, _, value = line.partition(":")
            fields[name or "comment"] = value.removeprefix(" ")
        return fields

    async def event(self) -> dict[str, str]:
        """The next block that is an event, skipping comments and `retry`."""
        while "id" not in (block := await self.block()):
            pass
        return block


@pytest.fixture
async def served(runtime):
    """A client of an app whose streams end when `stopping` is set, as in serve."""
    stopping = trio.Event()
    app = create_app(runtime, rng=random.Random(5), stopping=stopping)
    async with app.test_app() as test_app:
        yield test_app.test_client(), stopping


async def test_a_stream_catches_up_then_follows_the_writer(served, mock_clock):
    client, stopping = served
    async with client.request("/api/v1/events/stream") as connection:
        stream = Stream(connection)
        assert await stream.block() == {"retry": "2000"}
        assert connection.headers["Content-Type"] == "text/event-stream"
        caught_up = [await stream.event() for _ in range(DEVICE_EVENTS)]
        assert [b["id"] for b in caught_up] == ["1", "2", "3"]
        assert {b["event"] for b in caught_up} == {"device.connected"}

        (task_id,) = await create(client, follow_body())
        block = await stream.event()
        assert (block["id"], block["event"]) == ("4", "task.created")
        _, page = await call(client, "GET", "/api/v1/events", query={"after": "3"})
        assert json.loads(block["data"]) == page["data"]["events"][0]
        assert json.loads(block["data"])["task_id"] == task_id
        stopping.set()
    assert connection.status_code == 200


async def test_a_quiet_stream_sends_a_keep_alive_comment(served, mock_clock):
    client, stopping = served
    async with client.request("/api/v1/events/stream?after=3") as connection:
        stream = Stream(connection)
        await stream.block()  # retry
        began = trio.current_time()
        assert await stream.block() == {"comment": "keep-alive"}
        assert trio.current_time() - began == pytest.approx(KEEPALIVE_S, abs=0.5)

        await create(client, follow_body())
        assert (await stream.event())["id"] == "4"
        stopping.set()


async def test_a_stream_resumes_after_the_last_event_id(served, mock_clock):
    client, stopping = served
    headers = {"Last-Event-ID": "2"}
    path = "/api/v1/events/stream?after=0"  # a reconnect keeps its first URL
    async with (
        client.request(path, headers=headers) as resumed,
        client.request("/api/v1/events/stream?after=1") as fresh,
    ):
        assert (await Stream(resumed).event())["id"] == "3"
        assert (await Stream(fresh).event())["id"] == "2"
        stopping.set()


async def test_a_stream_ends_when_the_server_stops(served, mock_clock):
    client, stopping = served
    async with client.request("/api/v1/events/stream?after=3") as connection:
        stream = Stream(connection)
        await stream.block()
        with trio.fail_after(1):  # virtual seconds: well before a keep-alive
            await trio.sleep(0.1)
            stopping.set()
            with pytest.raises(trio.EndOfChannel):
                await stream.block()


@pytest.mark.parametrize(
    ("query", "headers", "field"),
    [
        ({"after": "x"}, {}, "after"),
        ({}, {"Last-Event-ID": "seven"}, "Last-Event-ID"),
        ({"after": "1"}, {"Last-Event-ID": "-1"}, "Last-Event-ID"),
    ],
)
async def test_a_stream_refused_answers_an_envelope(client, query, headers, field):
    status, envelope = await call(
        client, "GET", "/api/v1/events/stream", query=query, headers=headers
    )
    assert (status, envelope["code"]) == (400, 40001)
    assert envelope["message"].startswith(f"{field}:")


async def test_the_answers_match_the_openapi_document(client, runtime):
    task_id = await finished_task(client, runtime)
    response = await client.get("/api/v1/openapi.json")
    document = json.loads(await response.get_data())

    walk = [
        ("/task/{task_id}/events", f"/task/{task_id}/events", 200),
        ("/task/{task_id}/events", "/task/99/events", 404),
        ("/task/{task_id}/events", "/task/x/events", 400),
        ("/events", "/events?after=2&limit=3", 200),
        ("/events", "/events?limit=0", 400),
        ("/events/stream", "/events/stream?after=x", 400),
    ]
    for template, path, status in walk:
        response = await client.get("/api/v1" + path)
        assert response.status_code == status, path
        body = json.loads(await response.get_data())
        entry = document["paths"]["/api/v1" + template]["get"]
        media = entry["responses"][str(status)]["content"]["application/json"]
        schema = {**media["schema"], "components": document["components"]}
        errors = [e.message for e in Draft202012Validator(schema).iter_errors(body)]
        assert errors == [], (path, errors)

    stream = document["paths"]["/api/v1/events/stream"]["get"]
    assert list(stream["responses"]["200"]["content"]) == ["text/event-stream"]
    assert {(p["name"], p["in"]) for p in stream["parameters"]} == {
        ("after", "query"),
        ("Last-Event-ID", "header"),
    }
