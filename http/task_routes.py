"""`/api/v1/task...`: create, list, read, stop, retry and delete tasks.

Handlers stay thin: parse, build a command or read the store, encode.
Writes go through the writer, and a handler answers only after the
commit. Store reads are synchronous and take microseconds, so they run
on the event loop directly.
"""

from __future__ import annotations

import logging

from quart import Blueprint, Response

from phonefarm.core.commands import (
    CreateTasks,
    DeleteTask,
    IdempotencyKey,
    RetryTask,
    StopTask,
)
from phonefarm.core.errors import (
    DuplicateRequestError,
    InvalidParameterError,
    NotFoundError,
    RequestError,
)
from phonefarm.core.events import Recorded, TaskCreated
from phonefarm.core.rules import check_repeat
from phonefarm.core.script_configs import convert_strict
from phonefarm.core.task import Task, TaskStatus
from phonefarm.core.task_request import MAX_SERIAL_BYTES, build_task_specs
from phonefarm.http.context import app_state, current_runtime
from phonefarm.http.envelope import success
from phonefarm.http.params import (
    body_digest,
    idempotency_key,
    parse_count,
    parse_task_id,
    query_arg,
    query_bool,
    read_json_object,
)
from phonefarm.http.task_json import task_object

log = logging.getLogger(__name__)

blueprint = Blueprint("tasks", __name__, url_prefix="/api/v1")

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
MAX_IDS_PER_REQUEST = 10_000
SOURCES = ("ui", "api")
# No stored task has a serial or script name longer than this (creation
# bounds them), and longer values would not fit an LMDB key.
_MAX_SCRIPT_NAME_BYTES = 64


@blueprint.post("/task")
async def create_tasks() -> Response:
    state = app_state()
    runtime = state.runtime
    dry_run = query_bool("dry_run")
    key = idempotency_key()
    body = await read_json_object(state.max_body_bytes)

    idempotency = None
    if key is not None and not dry_run:
        idempotency = IdempotencyKey(key=key, body_sha256=body_digest(body))
        try:
            check_repeat(runtime.store, idempotency, runtime.clock.now_us())
        except DuplicateRequestError as repeat:
            return _created(repeat.task_ids)
    specs = build_task_specs(
        body,
        fleet=runtime.store,
        now_us=runtime.clock.now_us(),
        tz=runtime.clock.tz,
        platform=runtime.config.platform,
        rng=state.rng,
        material_dirs=runtime.config.material_dirs,
    )
    if dry_run:
        return success({"task_ids": [], "created_count": 0, "would_create": len(specs)})

    try:
        records = await runtime.writer.submit(CreateTasks(specs, idempotency))
    except DuplicateRequestError as repeat:  # a concurrent twin won the race
        return _created(repeat.task_ids)
    task_ids = [r.event.task_id for r in records if isinstance(r.event, TaskCreated)]
    serials = list(dict.fromkeys(spec.serial for spec in specs))
    log.info(
        "tasks created count=%d task_ids=%s script_name=%s serials=%s",
        len(task_ids),
        f"{task_ids[0]}-{task_ids[-1]}" if len(task_ids) > 1 else task_ids[0],
        specs[0].script_name,
        ",".join(serials),
    )
    return _created(task_ids)


def _created(task_ids: list[int]) -> Response:
    return success({"task_ids": task_ids, "created_count": len(task_ids)})


@blueprint.get("/task")
async def list_tasks() -> Response:
    runtime = current_runtime()
    filters = _list_filters()
    page = _page_number("page", default=1)
    page_size = min(_page_number("page_size", default=DEFAULT_PAGE_SIZE), MAX_PAGE_SIZE)

    tasks, total = [], 0
    if filters is not None:
        offset = (page - 1) * page_size
        tasks, total = runtime.store.list_tasks(filters, offset=offset, limit=page_size)
    tz = runtime.clock.tz
    return success(
        {
            "tasks": [task_object(task, tz) for task in tasks],
            "total": total,
            "page": page,
            "page_size": page_size,
        }
    )


@blueprint.get("/task/stats")
async def task_stats() -> Response:
    stats = current_runtime().store.stats()
    return success(
        {key: stats[key] for key in ("total", *(s.text for s in TaskStatus))}
    )


@blueprint.get("/task/<task_id:task_id>")
async def get_task(task_id: str) -> Response:
    runtime = current_runtime()
    return success(
        task_object(_existing_task(parse_task_id(task_id)), runtime.clock.tz)
    )


@blueprint.post("/task/<task_id:task_id>/stop")
async def stop_task(task_id: str) -> Response:
    runtime = current_runtime()
    task_number = parse_task_id(task_id)
    records = await runtime.writer.submit(StopTask(task_number))
    return success(task_object(_task_after(task_number, records), runtime.clock.tz))


@blueprint.post("/task/<task_id:task_id>/retry")
async def retry_task(task_id: str) -> Response:
    runtime = current_runtime()
    task_number = parse_task_id(task_id)
    records = await runtime.writer.submit(RetryTask(task_number))
    return success(task_object(_task_after(task_number, records), runtime.clock.tz))


@blueprint.delete("/task/<task_id:task_id>")
async def delete_task(task_id: str) -> Response:
    task_number = parse_task_id(task_id)
    await current_runtime().writer.submit(DeleteTask(task_number))
    return success({"deleted": task_number})


@blueprint.delete("/task/batch")
async def delete_tasks() -> Response:
    state = app_state()
    body = await read_json_object(state.max_body_bytes)
    task_ids = _task_id_list(body)

    outcomes = await state.runtime.writer.submit_all([DeleteTask(i) for i in task_ids])
    not_found = [
        task_id
        for task_id, outcome in zip(task_ids, outcomes, strict=True)
        if isinstance(outcome, NotFoundError)
    ]
    for outcome in outcomes:
        if isinstance(outcome, RequestError) and not isinstance(outcome, NotFoundError):
            raise outcome
    deleted_count = len(task_ids) - len(not_found)
    return success({"deleted_count": deleted_count, "not_found": not_found})


@blueprint.post("/task/retry-all")
async def retry_all_tasks() -> Response:
    runtime = current_runtime()
    failed = {"status": int(TaskStatus.FAILED)}
    total = runtime.store.stats()[TaskStatus.FAILED.text]
    tasks, _ = runtime.store.list_tasks(failed, offset=0, limit=total)
    candidates = sorted(task.id for task in tasks)

    # A task that changed between the read and the commit (started again,
    # deleted) is refused by the rules and simply not counted.
    outcomes = await runtime.writer.submit_all([RetryTask(i) for i in candidates])
    retried = [
        task_id
        for task_id, outcome in zip(candidates, outcomes, strict=True)
        if not isinstance(outcome, BaseException)
    ]
    return success({"retried_count": len(retried), "task_ids": retried})


def _task_after(task_id: int, records: list[Recorded]) -> Task:
    """The task as the command's commit left it, even if deleted since."""
    store = current_runtime().store
    if not records:  # nothing changed (a stop of a failed task)
        return _existing_task(task_id)
    task = store.task_as_of(task_id, records[-1].seq)
    assert task is not None
    return task


def _existing_task(task_id: int) -> Task:
    task = current_runtime().store.task(task_id)
    if task is None:
        raise NotFoundError("task", task_id)
    return task


def _list_filters() -> dict[str, object] | None:
    """The list's filters; None when a value can match no stored task."""
    status = query_arg("status")
    status_number = None
    if status is not None:
        status_number = parse_count(status, "status")
        if status_number > max(TaskStatus):
            raise InvalidParameterError("status", "must be 0, 1, 2 or 3")
    source = query_arg("source")
    if source is not None and source not in SOURCES:
        raise InvalidParameterError("source", "must be ui or api")
    serial = query_arg("serial")
    script_name = query_arg("script_name")
    if (serial and len(serial.encode()) > MAX_SERIAL_BYTES) or (
        script_name and len(script_name.encode()) > _MAX_SCRIPT_NAME_BYTES
    ):
        return None
    return {
        "status": status_number,
        "serial": serial,
        "script_name": script_name,
        "source": source,
    }


def _page_number(name: str, *, default: int) -> int:
    raw = query_arg(name)
    if raw is None:
        return default
    value = parse_count(raw, name)
    if value < 1:
        raise InvalidParameterError(name, "must be at least 1")
    return value


def _task_id_list(body: dict[str, object]) -> list[int]:
    """`{"task_ids": [..]}`: positive 63-bit integers, duplicates counted once."""
    raw = body.get("task_ids")
    if raw is None:
        raise InvalidParameterError("task_ids", "is required (a list of task ids)")
    ids = convert_strict(raw, list[int], prefix="task_ids")
    for index, task_id in enumerate(ids):
        if not 1 <= task_id <= (1 << 63) - 1:
            raise InvalidParameterError(
                f"task_ids[{index}]", "must be a positive integer that fits 63 bits"
            )
    unique = list(dict.fromkeys(ids))
    if len(unique) > MAX_IDS_PER_REQUEST:
        raise InvalidParameterError(
            "task_ids", f"at most {MAX_IDS_PER_REQUEST} task ids per request"
        )
    return unique
