"""The shapes of request bodies and of `data` in answers, as msgspec types.

The OpenAPI document is generated from these and from the types the
server validates with (`TaskRequestFields`, the script configs,
`TaskObject`); nothing in it is written by hand. Handlers may build plain
dicts; `tests/api/test_contract.py` converts every answer's `data` into
the type declared here, strictly, so a handler and its documented shape
cannot drift apart unnoticed.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

from phonefarm.core.script_configs import SCRIPTS
from phonefarm.core.task_request import TaskRequestFields
from phonefarm.http.openapi import CustomSchema, SchemaOf
from phonefarm.http.params import MAX_ID
from phonefarm.http.task_json import TaskObject

TaskId = Annotated[int, Meta(ge=1, le=MAX_ID, description="a positive task id")]
Count = Annotated[int, Meta(ge=0)]


class CreatedTasks(msgspec.Struct, frozen=True, kw_only=True):
    task_ids: list[TaskId]
    created_count: Count
    would_create: Annotated[Count | UnsetType, Meta(description="dry_run only")] = UNSET


class TaskPage(msgspec.Struct, frozen=True, kw_only=True):
    tasks: list[TaskObject]
    total: Count
    page: Annotated[int, Meta(ge=1)]
    page_size: Annotated[int, Meta(ge=1, le=100)]


class TaskStats(msgspec.Struct, frozen=True, kw_only=True):
    total: Count
    pending: Count
    running: Count
    completed: Count
    failed: Count


class DeletedTask(msgspec.Struct, frozen=True, kw_only=True):
    deleted: TaskId


class TaskIdList(msgspec.Struct, frozen=True, kw_only=True):
    """The body of `DELETE /task/batch`."""

    task_ids: Annotated[list[TaskId], Meta(description="duplicates count once")]


class BatchDeleted(msgspec.Struct, frozen=True, kw_only=True):
    deleted_count: Count
    not_found: list[TaskId]


class RetriedTasks(msgspec.Struct, frozen=True, kw_only=True):
    retried_count: Count
    task_ids: list[TaskId]


class DeviceObject(msgspec.Struct, frozen=True, kw_only=True):
    serial: str
    state: Literal["online", "offline", "unauthorized"]
    model: str
    driver: Literal["adb", "simulated"]
    current_task_id: TaskId | None
    accounts: Annotated[list[str], Meta(description="usernames registered here")]


class DeviceList(msgspec.Struct, frozen=True, kw_only=True):
    devices: list[DeviceObject]
    total: Count


class AccountObject(msgspec.Struct, frozen=True, kw_only=True):
    username: Annotated[str, Meta(description='as registered, without "@"')]
    serial: str
    platform: Literal["tiktok", "instagram"]


class AccountList(msgspec.Struct, frozen=True, kw_only=True):
    accounts: list[AccountObject]
    total: Count


class DeletedAccount(msgspec.Struct, frozen=True, kw_only=True):
    deleted: str


class License(msgspec.Struct, frozen=True, kw_only=True):
    plan_name: str
    api_enabled: bool
    device_limit: Annotated[int | None, Meta(description="null: no limit")]
    message: str


class Health(msgspec.Struct, frozen=True, kw_only=True):
    status: Literal["ok"]
    version: str
    last_seq: Annotated[Count, Meta(description="the last event in the log")]


class ScriptInfo(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    config_schema: Annotated[
        dict[str, Any], Meta(description="JSON Schema of script_config")
    ]
    defaults: dict[str, Any]


class ScriptList(msgspec.Struct, frozen=True, kw_only=True):
    scripts: list[ScriptInfo]


def _create_task_body(schema_of: SchemaOf) -> dict[str, Any]:
    # `script_name` decides which config schema applies: one branch per
    # supported script says so in JSON Schema's terms.
    branches = [
        {
            "properties": {
                "script_name": {"const": name},
                "script_config": schema_of(definition.config_type),
            }
        }
        for name, definition in SCRIPTS.items()
    ]
    return {
        "allOf": [
            schema_of(TaskRequestFields),
            {
                "type": "object",
                "required": ["script_name", "script_config"],
                "properties": {
                    "script_name": {"type": "string", "enum": list(SCRIPTS)},
                    "script_config": {"type": "object"},
                },
                "oneOf": branches,
                # Device mode or account mode (both non-empty is 40001 too).
                "anyOf": [
                    {
                        "required": [mode],
                        "properties": {mode: {"type": "array", "minItems": 1}},
                    }
                    for mode in ("serials", "usernames")
                ],
            },
        ]
    }


CREATE_TASK_BODY = CustomSchema(
    types=(TaskRequestFields, *(d.config_type for d in SCRIPTS.values())),
    build=_create_task_body,
)
