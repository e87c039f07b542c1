"""`/api/v1/events`, `/events/stream`, `/task/{id}/events`: the log, for auditing.

Everything here is a read of the event log by `seq`; nothing is buffered
per client. The live stream catches up from the log in batches, then
waits for the writer's next commit and reads again, so a client that
reconnects with `Last-Event-ID` misses nothing and sees nothing twice.

A stream never ends by itself, so `serve` hands the app its shutdown
event: every open stream returns as soon as it is set, instead of holding
hypercorn's graceful shutdown until its timeout cancels the stream.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, Any

import msgspec
import trio
from msgspec import Meta
from quart import Blueprint, Response, current_app, request
from quart_trio import QuartTrio

from phonefarm.core.errors import InvalidParameterError, NotFoundError
from phonefarm.core.event_json import event_object
from phonefarm.core.events import Recorded
from phonefarm.http.context import current_runtime
from phonefarm.http.envelope import success
from phonefarm.http.openapi import Param, operation
from phonefarm.http.params import MAX_ID, parse_count, parse_task_id, query_arg

if TYPE_CHECKING:
    import datetime as dt

    from phonefarm.actors.runtime import Runtime
    from phonefarm.actors.writer import Writer

log = logging.getLogger(__name__)

blueprint = Blueprint("events", __name__, url_prefix="/api/v1")

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
STREAM_BATCH = 500
KEEPALIVE_S = 15.0
RETRY_MS = 2000  # what the stream tells a client to wait before reconnecting
EVENT_STREAM_CONTENT_TYPE = "text/event-stream"
_STOPPING_KEY = "phonefarm.streams_stopping"
_encode_json = msgspec.json.Encoder().encode

Seq = Annotated[int, Meta(ge=0, le=MAX_ID)]


class EventObject(msgspec.Struct, frozen=True, kw_only=True):
    """One log entry, as `core/event_json.event_object` builds it."""

    seq: Annotated[int, Meta(ge=1, le=MAX_ID)]
    type: Annotated[str, Meta(examples=["task.created"])]
    version: Annotated[int, Meta(ge=1)]
    at: Annotated[str, Meta(description="commit time, ISO 8601 with offset")]
    task_id: int | None
    serial: str | None
    data: dict[str, Any]


class TaskHistory(msgspec.Struct, frozen=True, kw_only=True):
    events: list[EventObject]


class EventPage(msgspec.Struct, frozen=True, kw_only=True):
    events: list[EventObject]
    next_after: Annotated[Seq, Meta(description="pass as `after` for the next page")]


AFTER = Param("after", "query", Seq, "only events with a greater seq; default 0")


def end_streams_on(app: QuartTrio, stopping: trio.Event) -> None:
    """Make every event stream of `app` end once `stopping` is set."""
    app.extensions[_STOPPING_KEY] = stopping


@blueprint.get("/task/<task_id:task_id>/events")
@operation(
    "GET",
    "/task/{task_id}/events",
    "One task's history, in log order",
    description="A deleted task's history stays readable; its last event says so.",
    params=(Param("task_id", "path", Annotated[int, Meta(ge=1, le=MAX_ID)]),),
    response=TaskHistory,
    errors=(40001, 40401),
    tag="events",
)
async def task_events(task_id: str) -> Response:
    runtime = current_runtime()
    task_number = parse_task_id(task_id)

    # Every task's history starts with its creation, so an empty one means
    # the id was never created.
    history = runtime.store.task_history(task_number)
    if not history:
        raise NotFoundError("task", task_number)
    tz = runtime.clock.tz
    return success({"events": [event_object(record, tz) for record in history]})


@blueprint.get("/events")
@operation(
    "GET",
    "/events",
    "The event log, a page at a time",
    params=(
        AFTER,
        Param(
            "limit",
            "query",
            Annotated[int, Meta(ge=1, le=MAX_ID)],
            "default 100, most 1000",
        ),
    ),
    response=EventPage,
    errors=(40001,),
    tag="events",
)
async def list_events() -> Response:
    runtime = current_runtime()
    after = _query_seq("after")
    limit = _limit()

    records = runtime.store.events_after(after, limit)
    tz = runtime.clock.tz
    return success(
        {
            "events": [event_object(record, tz) for record in records],
            "next_after": records[-1].seq if records else after,
        }
    )


@blueprint.get("/events/stream")
@operation(
    "GET",
    "/events/stream",
    "The event log, live, as server-sent events",
    description=(
        "Each event is `id: <seq>`, `event: <type>`, `data: <event object>`. "
        "Reconnecting with `Last-Event-ID` resumes after that seq (it wins "
        f"over `after`). A comment line arrives every {KEEPALIVE_S:g} s when "
        "nothing happens. Errors before the stream starts are envelopes."
    ),
    params=(
        AFTER,
        Param("Last-Event-ID", "header", Seq, "the id of the last event received"),
    ),
    response=str,
    media_type=EVENT_STREAM_CONTENT_TYPE,
    errors=(40001,),
    tag="events",
)
async def stream_events() -> Response:
    runtime = current_runtime()
    after = _stream_start()
    stopping = current_app.extensions.get(_STOPPING_KEY)
    if not isinstance(stopping, trio.Event):
        stopping = trio.Event()  # an app nobody stops: streams end with clients

    response = Response(
        _frames(runtime, after, stopping),
        content_type=EVENT_STREAM_CONTENT_TYPE,
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
    response.timeout = None  # quart would cut a body off after RESPONSE_TIMEOUT
    return response


def _query_seq(name: str) -> int:
    raw = query_arg(name)
    return 0 if raw is None else parse_count(raw, name)


def _limit() -> int:
    raw = query_arg("limit")
    if raw is None:
        return DEFAULT_LIMIT
    value = parse_count(raw, "limit")
    if value < 1:
        raise InvalidParameterError("limit", "must be at least 1")
    return min(value, MAX_LIMIT)


def _stream_start() -> int:
    """Where a stream resumes: `Last-Event-ID` if sent, else `after`, else 0."""
    last_event_id = request.headers.get("Last-Event-ID")
    if last_event_id:
        return parse_count(last_event_id.strip(), "Last-Event-ID")
    return _query_seq("after")


async def _frames(
    runtime: Runtime, after: int, stopping: trio.Event
) -> AsyncIterator[bytes]:
    """The stream's body: catch up by seq, then follow the writer's commits.

    Cancelled when the client goes away; returns once `stopping` is set.
    """
    tz = runtime.clock.tz
    began = time.monotonic()
    sent = 0
    log.debug("event stream opened after=%d", after)
    try:
        yield b"retry: %d\n\n" % RETRY_MS
        while not stopping.is_set():
            records = runtime.store.events_after(after, STREAM_BATCH)
            if records:
                yield b"".join(_frame(record, tz) for record in records)
                sent += len(records)
                after = records[-1].seq
                continue
            await _wait_for_news(runtime.writer, after, stopping, KEEPALIVE_S)
            if not stopping.is_set() and runtime.writer.last_seq <= after:
                yield b": keep-alive\n\n"
    finally:
        log.debug(
            "event stream closed events=%d last_seq=%d duration_s=%.1f",
            sent,
            after,
            time.monotonic() - began,
        )


def _frame(record: Recorded, tz: dt.tzinfo) -> bytes:
    # msgspec's JSON has no newlines, so the data fits one `data:` line.
    data = _encode_json(event_object(record, tz))
    kind = record.event.type_name().encode()
    return b"id: %d\nevent: %s\ndata: %s\n\n" % (record.seq, kind, data)


async def _wait_for_news(
    writer: Writer, after: int, stopping: trio.Event, timeout_s: float
) -> None:
    """Return once the log holds an event after `after`, at `stopping`, or on time.

    The nursery opens and closes within this call, never across a `yield`
    of the stream's generator, as trio requires.
    """
    with trio.move_on_after(timeout_s):
        async with trio.open_nursery() as nursery:

            async def first_of(wait: Callable[[], Awaitable[object]]) -> None:
                await wait()
                nursery.cancel_scope.cancel()

            nursery.start_soon(first_of, lambda: writer.wait_for_commit(after))
            nursery.start_soon(first_of, stopping.wait)
