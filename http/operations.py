"""OpenAPI declarations of the routes whose modules do not declare their own.

Each call below belongs next to its handler (in `task_routes.py`,
`device_routes.py`, `account_routes.py`), written there as a decorator
under the route's own decorator. Moving one is a cut and paste: the
declaration keeps its arguments, and this file loses the line. Until
then they live here, so that the document covers every route.
"""

from __future__ import annotations

from typing import Annotated, Literal

from msgspec import Meta

from phonefarm.core.accounts import USERNAME_PATTERN
from phonefarm.http.account_routes import NewAccount
from phonefarm.http.openapi import Param, operation
from phonefarm.http.params import MAX_ID, MAX_IDEMPOTENCY_KEY_CHARS
from phonefarm.http.schemas import (
    CREATE_TASK_BODY,
    AccountList,
    AccountObject,
    BatchDeleted,
    CreatedTasks,
    DeletedAccount,
    DeletedTask,
    DeviceList,
    License,
    RetriedTasks,
    TaskIdList,
    TaskPage,
    TaskStats,
)
from phonefarm.http.task_json import TaskObject

PositiveId = Annotated[int, Meta(ge=1, le=MAX_ID)]
TASK_ID = Param("task_id", "path", PositiveId, "a positive integer that fits 63 bits")
Username = Annotated[str, Meta(pattern=USERNAME_PATTERN)]

operation(
    "POST",
    "/task",
    "Create tasks",
    description=(
        "One task per device (or account), times one per target user for "
        "follow; at most 10,000 per request, created all at once or not at all."
    ),
    params=(
        Param(
            "dry_run",
            "query",
            bool,
            "validate and count the tasks, create nothing",
        ),
        Param(
            "Idempotency-Key",
            "header",
            Annotated[
                str,
                Meta(
                    min_length=1,
                    max_length=MAX_IDEMPOTENCY_KEY_CHARS,
                    pattern="^[ -~]+$",
                ),
            ],
            "the same key and body within 24 h answer the first task_ids",
        ),
    ),
    body=CREATE_TASK_BODY,
    response=CreatedTasks,
    errors=(40001, 40002, 40003, 40901),
)
operation(
    "GET",
    "/task",
    "List tasks, newest first",
    params=(
        Param("status", "query", Annotated[int, Meta(ge=0, le=3)]),
        Param("serial", "query", str),
        Param("script_name", "query", str),
        Param("source", "query", Literal["ui", "api"]),
        Param("page", "query", PositiveId, "from 1; past the end is an empty page"),
        Param("page_size", "query", PositiveId, "default 20; above 100 is 100"),
    ),
    response=TaskPage,
    errors=(40001,),
)
operation("GET", "/task/stats", "Count tasks by status", response=TaskStats)
operation(
    "GET",
    "/task/{task_id}",
    "Read one task",
    params=(TASK_ID,),
    response=TaskObject,
    errors=(40001, 40401),
)
operation(
    "DELETE",
    "/task/{task_id}",
    "Delete a task, stopping it first if it runs",
    params=(TASK_ID,),
    response=DeletedTask,
    errors=(40001, 40401),
)
operation(
    "POST",
    "/task/{task_id}/stop",
    "Stop a pending or running task: it fails with `stopped by user`",
    params=(TASK_ID,),
    response=TaskObject,
    errors=(40001, 40401, 40901),
)
operation(
    "POST",
    "/task/{task_id}/retry",
    "Put a failed task back to pending",
    params=(TASK_ID,),
    response=TaskObject,
    errors=(40001, 40401, 40901),
)
operation(
    "DELETE",
    "/task/batch",
    "Delete several tasks",
    body=TaskIdList,
    response=BatchDeleted,
    errors=(40001,),
)
operation(
    "POST",
    "/task/retry-all",
    "Put every failed task back to pending",
    response=RetriedTasks,
)
operation(
    "GET",
    "/device",
    "List the phones and their state",
    response=DeviceList,
    tag="devices",
)
operation(
    "GET",
    "/license/check",
    "Say whether the API is enabled",
    response=License,
    tag="devices",
)
operation(
    "GET",
    "/account",
    "List the registered accounts",
    params=(Param("serial", "query", str, "only this phone's"),),
    response=AccountList,
    tag="accounts",
)
operation(
    "POST",
    "/account",
    "Register an account on a phone",
    body=NewAccount,
    response=AccountObject,
    errors=(40001, 40901),
    tag="accounts",
)
operation(
    "DELETE",
    "/account/{username}",
    "Remove an account",
    params=(Param("username", "path", Username, 'with or without "@"'),),
    response=DeletedAccount,
    errors=(40001, 40401),
    tag="accounts",
)
