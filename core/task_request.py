"""`POST /api/v1/task`: a parsed JSON body → the task specs to create.

Checks run in API.md's order: the body is an object (40001), `script_name`
is present and a non-empty string (40002), the script is supported
(40003), then every other field (40001). Nothing here writes: the caller
sends the specs to the writer as one `CreateTasks`, so a request creates
all its tasks or none.

Every random or clock-dependent choice is made here, once: the spintax
pick for each task's `captions` and the resolved `scheduled_at_us`. They
travel in the specs and are recorded in the events.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, NamedTuple, Protocol

import msgspec
from msgspec import Meta

from phonefarm.core.accounts import check_username, normalise_username
from phonefarm.core.commands import Account, Device, TaskSpec
from phonefarm.core.errors import (
    InvalidParameterError,
    InvalidScriptNameError,
    MissingScriptNameError,
    UnsupportedScriptError,
)
from phonefarm.core.schedule import parse_start_time, scheduled_at_us
from phonefarm.core.script_configs import (
    SCRIPTS,
    ValidatedConfig,
    convert_strict,
    validate_script_config,
)
from phonefarm.core.spintax import resolve_spintax

_encode = msgspec.msgpack.Encoder().encode

MAX_TASKS_PER_REQUEST = 10_000
# What one request may write: a task's script config (unknown keys kept) is
# stored with every task the request fans out to.
MAX_CONFIG_BYTES = 64 * 1024
MAX_REQUEST_STORED_BYTES = 16 << 20
MAX_INTERVAL_MINUTES = 1440
# A serial is part of LMDB keys (at most 511 bytes, shared with the other
# list filters), so it is bounded in bytes, not characters. mDNS serials
# of wireless adb ("adb-<id>._adb-tls-connect._tcp") are the longest seen,
# under 64 bytes.
MAX_SERIAL_BYTES = 255
SOURCE_API = "api"
_SHOWN_NAMES = 10

Serial = Annotated[str, Meta(min_length=1, max_length=MAX_SERIAL_BYTES)]
Minutes = Annotated[int, Meta(ge=0, le=MAX_INTERVAL_MINUTES)]


class FleetLookup(Protocol):
    """What task creation reads of phones and accounts; the store satisfies it."""

    def device(self, serial: str) -> Device | None: ...

    def account(self, username: str) -> Account | None: ...

    def accounts(self, serial: str | None = None) -> list[Account]: ...


class _Runner(NamedTuple):
    """Where one task runs: a phone, and the account it runs as (if any)."""

    serial: str
    username: str | None
    platform: str


class TaskRequestFields(msgspec.Struct, kw_only=True):
    """The body's fields besides `script_name` and `script_config`.

    Unknown keys (TikMatrix's UI sends `rotate_proxy`) are ignored.
    """

    serials: Annotated[list[Serial] | None, Meta(description="device mode")] = None
    usernames: Annotated[
        list[Annotated[str, Meta(min_length=1)]] | None,
        Meta(description="account mode"),
    ] = None
    enable_multi_account: bool = False
    start_time: Annotated[
        str | None, Meta(description='"HH:MM" in the server\'s time zone; "" = now')
    ] = None
    min_interval: Annotated[Minutes, Meta(description="minutes")] = 0
    max_interval: Annotated[Minutes, Meta(description="minutes")] = 0


def build_task_specs(
    body: object,
    *,
    fleet: FleetLookup,
    now_us: int,
    tz: dt.tzinfo,
    platform: str,
    rng: random.Random,
    material_dirs: Sequence[Path] | None = None,
) -> list[TaskSpec]:
    """Validate a create-task body and resolve it into one spec per task.

    Raises `InvalidParameterError` (40001), `MissingScriptNameError`
    (40002) or `UnsupportedScriptError` (40003), having created nothing.
    """
    if not isinstance(body, dict):
        raise InvalidParameterError("body", "must be a JSON object")
    script_name = _script_name(body)
    fields = convert_strict(
        {k: v for k, v in body.items() if k not in ("script_name", "script_config")},
        TaskRequestFields,
    )

    _check_mode(fields)
    if fields.min_interval > fields.max_interval:
        raise InvalidParameterError(
            "max_interval", f"must be >= min_interval ({fields.min_interval})"
        )
    start = parse_start_time(fields.start_time)
    if body.get("script_config") is None:
        raise InvalidParameterError("script_config", "is required (an object)")
    validated = validate_script_config(
        script_name, body["script_config"], material_dirs=material_dirs
    )
    runners = _runners(fields, fleet, platform)

    count = len(runners) * max(1, len(validated.targets))
    if count > MAX_TASKS_PER_REQUEST:
        raise InvalidParameterError(
            "",
            f"the request would create {count} tasks; the limit is "
            f"{MAX_TASKS_PER_REQUEST} per request",
        )
    _check_stored_size(validated, count)

    base = TaskSpec(
        serial="",
        username=None,
        platform=platform,
        script_name=script_name,
        script_config={},
        source=SOURCE_API,
        enable_multi_account=fields.enable_multi_account,
        start_time=None if start is None else str(start),
        scheduled_at_us=scheduled_at_us(start, now_us, tz),
        min_interval=fields.min_interval,
        max_interval=fields.max_interval,
    )
    return [
        msgspec.structs.replace(
            base,
            serial=runner.serial,
            username=runner.username,
            platform=runner.platform,
            script_config=config,
        )
        for runner in runners
        for config in _task_configs(validated, rng)
    ]


def _check_stored_size(validated: ValidatedConfig, count: int) -> None:
    """Refuse a request whose tasks would store more than the budgets allow.

    Every task keeps its own copy of the script config, unknown keys
    included, so a 1 MiB body fanned out to thousands of tasks would write
    gigabytes in one commit and hold up every other write meanwhile.
    """
    config_bytes = len(_encode(validated.config))
    if config_bytes > MAX_CONFIG_BYTES:
        raise InvalidParameterError(
            "script_config",
            f"is {config_bytes} bytes stored; at most {MAX_CONFIG_BYTES} per task",
        )
    if config_bytes * count > MAX_REQUEST_STORED_BYTES:
        raise InvalidParameterError(
            "script_config",
            f"{count} tasks of {config_bytes} bytes each would store "
            f"{config_bytes * count // (1 << 20)} MiB; at most "
            f"{MAX_REQUEST_STORED_BYTES >> 20} MiB per request",
        )


def _script_name(body: dict[str, Any]) -> str:
    script_name = body.get("script_name")
    if script_name is None:
        raise MissingScriptNameError()
    if not isinstance(script_name, str) or not script_name:
        raise InvalidScriptNameError()
    if script_name not in SCRIPTS:
        shown = script_name if len(script_name) <= 64 else script_name[:64] + "…"
        raise UnsupportedScriptError(shown)
    return script_name


def _check_mode(fields: TaskRequestFields) -> None:
    """Exactly one of serials (device mode) and usernames (account mode)."""
    if fields.serials and fields.usernames:
        raise InvalidParameterError("serials", "send serials or usernames, not both")
    if not fields.serials and not fields.usernames:
        raise InvalidParameterError(
            "serials", "one of serials or usernames must be a non-empty list"
        )
    for index, serial in enumerate(fields.serials or ()):
        if len(serial.encode()) > MAX_SERIAL_BYTES:
            raise InvalidParameterError(
                f"serials[{index}]", f"is longer than {MAX_SERIAL_BYTES} bytes"
            )
    for index, username in enumerate(fields.usernames or ()):
        check_username(username, f"usernames[{index}]")


def _runners(
    fields: TaskRequestFields, fleet: FleetLookup, default_platform: str
) -> list[_Runner]:
    """Resolve the request to phones and accounts, duplicates dropped, in order."""
    if fields.usernames:
        # Account mode: each account's phone, as it is now. enable_multi_account
        # applies to device mode only and is ignored here.
        names = list(dict.fromkeys(normalise_username(u) for u in fields.usernames))
        accounts = [fleet.account(name) for name in names]
        _refuse_unknown(
            "usernames",
            "unknown username",
            [
                name
                for name, account in zip(names, accounts, strict=True)
                if not account
            ],
        )
        return [_Runner(a.serial, a.username, a.platform) for a in accounts if a]

    serials = list(dict.fromkeys(fields.serials or ()))
    _refuse_unknown(
        "serials", "unknown serial", [s for s in serials if fleet.device(s) is None]
    )
    if not fields.enable_multi_account:
        return [_Runner(serial, None, default_platform) for serial in serials]
    runners = []
    for serial in serials:
        accounts = fleet.accounts(serial)
        if not accounts:
            raise InvalidParameterError(
                "enable_multi_account", f"no accounts registered on device {serial}"
            )
        runners += [_Runner(serial, a.username, a.platform) for a in accounts]
    return runners


def _refuse_unknown(field: str, what: str, unknown: list[str]) -> None:
    if not unknown:
        return
    shown = ", ".join(unknown[:_SHOWN_NAMES])
    if len(unknown) > _SHOWN_NAMES:
        shown += f" and {len(unknown) - _SHOWN_NAMES} more"
    raise InvalidParameterError(field, f"{what}: {shown}")


def _task_configs(
    validated: ValidatedConfig, rng: random.Random
) -> list[dict[str, Any]]:
    """The script_config of each task one device gets, picks made."""
    config = validated.config
    if validated.targets:
        return [{**config, "target_username": target} for target in validated.targets]
    if isinstance(config.get("captions"), str):
        return [{**config, "captions": resolve_spintax(config["captions"], rng)}]
    return [dict(config)]
