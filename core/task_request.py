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
from typing import Annotated, Any, Protocol

import msgspec
from msgspec import Meta

from phonefarm.core.commands import Device, TaskSpec
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

MAX_TASKS_PER_REQUEST = 10_000
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


class DeviceLookup(Protocol):
    """What task creation reads of the fleet; the store satisfies it."""

    def device(self, serial: str) -> Device | None: ...


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
    devices: DeviceLookup,
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

    serials = _serials(fields)
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

    count = len(serials) * max(1, len(validated.targets))
    if count > MAX_TASKS_PER_REQUEST:
        raise InvalidParameterError(
            "",
            f"the request would create {count} tasks; the limit is "
            f"{MAX_TASKS_PER_REQUEST} per request",
        )
    _check_devices(serials, devices, multi_account=fields.enable_multi_account)

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
        msgspec.structs.replace(base, serial=serial, script_config=config)
        for serial in serials
        for config in _task_configs(validated, rng)
    ]


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


def _serials(fields: TaskRequestFields) -> list[str]:
    """Device mode's serials, duplicates dropped; refuse account mode for now."""
    serials = list(dict.fromkeys(fields.serials or ()))
    if serials and fields.usernames:
        raise InvalidParameterError("serials", "send serials or usernames, not both")
    if fields.usernames:
        # Limitation: there is no account registry yet, so usernames cannot
        # be resolved to devices. The registry (GET/POST /account) lifts it.
        raise InvalidParameterError("usernames", "account mode is not supported yet")
    if not serials:
        raise InvalidParameterError(
            "serials", "one of serials or usernames must be a non-empty list"
        )
    for index, serial in enumerate(serials):
        if len(serial.encode()) > MAX_SERIAL_BYTES:
            raise InvalidParameterError(
                f"serials[{index}]", f"is longer than {MAX_SERIAL_BYTES} bytes"
            )
    return serials


def _check_devices(
    serials: list[str], devices: DeviceLookup, *, multi_account: bool
) -> None:
    """Every serial is one the fleet has seen (online or not)."""
    unknown = [serial for serial in serials if devices.device(serial) is None]
    if unknown:
        shown = ", ".join(unknown[:_SHOWN_NAMES])
        more = len(unknown) - _SHOWN_NAMES
        if more > 0:
            shown += f" and {more} more"
        raise InvalidParameterError("serials", f"unknown serial: {shown}")
    if multi_account:
        # Limitation: no account registry yet, so no device has accounts.
        raise InvalidParameterError(
            "enable_multi_account", f"no accounts registered on device {serials[0]}"
        )


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
