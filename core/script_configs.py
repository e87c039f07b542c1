"""Per-script `script_config` validation: one definition per script.

Each supported script has a msgspec Struct whose fields, bounds and
defaults are the single source of truth: `validate_script_config` checks a
request's config against it, and `GET /api/v1/scripts` and the OpenAPI
document can be produced from the same Structs (`ScriptDefinition.
json_schema`, `.defaults`), so the documented schema cannot drift from the
checks.

Typing is strict (API.md, "Edge decisions"): an integer is a JSON integer,
never 5.0, "5" or true; a list is a list. The one documented exception is
`post.add_sound`, which TikMatrix accepts as a string or an integer; it is
normalised to its string form. Unknown keys are kept as sent (TikMatrix's
clients send extras such as `rotate_proxy`), once they are known to be
storable.
"""

from __future__ import annotations

import os
import re
import stat
import typing
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import msgspec
from msgspec import Meta

from phonefarm.core.accounts import check_username
from phonefarm.core.errors import InvalidParameterError

T = TypeVar("T")

FIELD = "script_config"
# Extras are stored in the event log as they were sent. msgpack holds
# 64-bit integers only, and msgspec's encoders and decoders recurse, so an
# extra nested a few hundred levels deep would decode in one place (the
# request handler) and fail in another (the writer's thread, or reading the
# store back). Bounding both here keeps every stored config readable.
MAX_EXTRA_DEPTH = 32
_MIN_INT = -(1 << 63)
_MAX_INT = (1 << 63) - 1
# Each file is checked on disk at creation, in the request handler.
MAX_MATERIAL_FILES = 1000
_TARGET_SPLIT = re.compile(r"[,\r\n]+")

Seconds = Annotated[int, Meta(ge=0, le=3600)]
Volume = Annotated[int, Meta(ge=0, le=100, description="percent, 0 to 100")]
FilePath = Annotated[str, Meta(min_length=1, max_length=4096)]


class PostConfig(msgspec.Struct, kw_only=True):
    """`post`: publish a video or images (TikMatrix's post script)."""

    content_type: Annotated[Literal[0, 1], Meta(description="0 video, 1 images")] = 0
    image_count: Annotated[int, Meta(ge=1, le=100)] = 1
    captions: Annotated[
        str, Meta(description="spintax {a|b|c}: one option is picked per task")
    ] = ""
    post_way: Literal["share", "addButton", "useSound"] = "share"
    material_source: Literal["materialLibrary", "localFolder"] = "materialLibrary"
    material_path: Annotated[
        str, Meta(max_length=4096, description="folder, for localFolder")
    ] = ""
    material_list: Annotated[
        list[FilePath],
        Meta(
            max_length=MAX_MATERIAL_FILES,
            description="server file paths; bypasses material_source",
        ),
    ] = []
    materials_tags: str = ""
    upload_wait_time: Annotated[
        Seconds, Meta(description="longest wait for the upload, in seconds")
    ] = 30
    sound_wait_time: Annotated[
        Seconds, Meta(description="longest wait for the sound, in seconds")
    ] = 10
    add_sound: Literal["-1", "0", "1", "custom"] | Literal[-1, 0, 1] = "-1"
    sound_name: Annotated[str, Meta(description="required for useSound")] = ""
    custom_sound_keyword: Annotated[
        str, Meta(description='required for add_sound "custom"')
    ] = ""
    origin_sound_volume: Volume = 50
    add_sound_volume: Volume = 50
    add_product_link: Annotated[Literal[0, 1], Meta(description="TikTok only")] = 0
    placement: Annotated[
        Literal["reel", "story"], Meta(description="Instagram only")
    ] = "reel"


class FollowConfig(msgspec.Struct, kw_only=True):
    """`follow`: follow users; one task per target user."""

    target_users: Annotated[
        list[str] | None, Meta(description="wins over target_user")
    ] = None
    target_user: Annotated[
        str | None, Meta(description="names split by commas or newlines")
    ] = None
    target_username: Annotated[
        str | None, Meta(description="synonym of target_user")
    ] = None
    access_method: Annotated[
        Literal["direct", "search"],
        Meta(description="direct opens the profile URL; search uses the app's search"),
    ] = "direct"


@dataclass(frozen=True)
class ValidatedConfig:
    """A config with its defaults filled in, and for `follow` its targets.

    For `follow`, `config` holds no target keys: fan-out gives each task
    one target, stored under `target_username`.
    """

    config: dict[str, Any]
    targets: tuple[str, ...] = ()


@dataclass(frozen=True)
class ScriptDefinition:
    name: str
    config_type: type[msgspec.Struct]

    def json_schema(self) -> dict[str, Any]:
        return msgspec.json.schema(self.config_type)

    def defaults(self) -> dict[str, Any]:
        return msgspec.to_builtins(self.config_type())


SCRIPTS: dict[str, ScriptDefinition] = {
    "post": ScriptDefinition("post", PostConfig),
    "follow": ScriptDefinition("follow", FollowConfig),
}


def validate_script_config(
    script_name: str, raw: object, *, material_dirs: Sequence[Path] | None = None
) -> ValidatedConfig:
    """Check a request's `script_config` for a supported script.

    `material_dirs`, when not None, are the only folders `post` may read.
    Raises `InvalidParameterError` naming the field path
    (`script_config.material_list[0]`). Reads the file system: a
    `material_list` file must exist when the task is created.
    """
    if not isinstance(raw, dict):
        raise InvalidParameterError(FIELD, "must be an object")
    definition = SCRIPTS[script_name]
    typed = convert_strict(raw, definition.config_type, prefix=FIELD)
    known = set(definition.config_type.__struct_fields__)
    extras = {key: value for key, value in raw.items() if key not in known}
    for key, value in extras.items():
        _check_storable(value, f"{FIELD}.{key}")

    match typed:
        case PostConfig():
            _check_post(typed, material_dirs)
            config = msgspec.to_builtins(typed)
            config["add_sound"] = str(typed.add_sound)
            return ValidatedConfig({**config, **extras})
        case FollowConfig():
            targets = _follow_targets(typed)
            return ValidatedConfig(
                {**extras, "access_method": typed.access_method}, tuple(targets)
            )
    raise AssertionError(f"no checks for {script_name}")


def convert_strict(obj: object, type_: type[T], *, prefix: str = "") -> T:
    """`msgspec.convert` in strict mode, its error turned into a field's 40001."""
    try:
        return msgspec.convert(obj, type_, strict=True)
    except msgspec.ValidationError as exc:
        message, found, path = str(exc).rpartition(" - at `")
        if not found:
            message, path = str(exc), "$`"
        path = path.removesuffix("`").removeprefix("$")
        field = prefix + path if prefix else path.removeprefix(".")
        raise InvalidParameterError(field, _reason(message, type_, path)) from exc


def _reason(message: str, type_: type, path: str) -> str:
    name = path.removeprefix(".")
    if message.startswith("Invalid enum value") and name.isidentifier():
        allowed = _literal_values(type_, name)
        if allowed:
            shown = ", ".join(msgspec.json.encode(v).decode() for v in allowed)
            return f"must be one of {shown}"
    text = message.replace("`", "")
    return text[:1].lower() + text[1:]


def _literal_values(type_: type, name: str) -> list[object]:
    hint = typing.get_type_hints(type_, include_extras=True).get(name)
    values: list[object] = []
    pending = [hint]
    while pending:
        current = pending.pop(0)
        origin = typing.get_origin(current)
        if origin is Literal:
            values.extend(typing.get_args(current))
        elif origin is not None:
            args = typing.get_args(current)
            pending.extend(args[:1] if origin is Annotated else args)
    return values


def _check_storable(value: object, field: str) -> None:
    """Refuse an extra the event log could not store and read back."""
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        current, depth = stack.pop()
        if depth > MAX_EXTRA_DEPTH:
            raise InvalidParameterError(
                field, f"is nested deeper than {MAX_EXTRA_DEPTH} levels"
            )
        if isinstance(current, bool):
            continue
        if isinstance(current, int) and not _MIN_INT <= current <= _MAX_INT:
            raise InvalidParameterError(field, "holds an integer too large to store")
        if isinstance(current, dict):
            stack.extend((item, depth + 1) for item in current.values())
        elif isinstance(current, list):
            stack.extend((item, depth + 1) for item in current)


# -- post ------------------------------------------------------------------


def _check_post(config: PostConfig, material_dirs: Sequence[Path] | None) -> None:
    if config.post_way == "useSound" and not config.sound_name.strip():
        raise InvalidParameterError(
            f"{FIELD}.sound_name", 'is required when post_way is "useSound"'
        )
    if str(config.add_sound) == "custom" and not config.custom_sound_keyword.strip():
        raise InvalidParameterError(
            f"{FIELD}.custom_sound_keyword", 'is required when add_sound is "custom"'
        )

    if config.material_list:
        for index, path in enumerate(config.material_list):
            field = f"{FIELD}.material_list[{index}]"
            _check_material(field, path, material_dirs, want_dir=False)
    elif config.material_source == "localFolder":
        field = f"{FIELD}.material_path"
        if not config.material_path:
            raise InvalidParameterError(
                field, 'is required when material_source is "localFolder"'
            )
        _check_material(field, config.material_path, material_dirs, want_dir=True)
    else:
        # Limitation: there is no material library yet (TikMatrix keeps one
        # in its desktop app); a library needs its own storage and API.
        raise InvalidParameterError(
            f"{FIELD}.material_list",
            "is required: phonefarm has no material library yet, so send "
            'material_list, or material_source "localFolder" with material_path',
        )


def _check_material(
    field: str, path: str, material_dirs: Sequence[Path] | None, *, want_dir: bool
) -> None:
    """A material must be an existing, readable file (or folder) on the server."""
    kind = "folder" if want_dir else "file"
    if not os.path.isabs(path):
        raise InvalidParameterError(
            field, f"must be an absolute path on the server: {path}"
        )
    try:
        mode = os.stat(path).st_mode
        real = Path(os.path.realpath(path))
    except FileNotFoundError:
        raise InvalidParameterError(
            field, f"{kind} not found on the server: {path}"
        ) from None
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise InvalidParameterError(field, f"cannot read {path}: {reason}") from None
    if want_dir and not stat.S_ISDIR(mode):
        raise InvalidParameterError(field, f"is not a folder on the server: {path}")
    if not want_dir and not stat.S_ISREG(mode):
        raise InvalidParameterError(field, f"is not a file on the server: {path}")
    if not os.access(path, os.R_OK):
        raise InvalidParameterError(field, f"is not readable by the server: {path}")
    if material_dirs is not None and not any(
        real.is_relative_to(os.path.realpath(folder)) for folder in material_dirs
    ):
        raise InvalidParameterError(
            field, f"is outside the server's material folders: {path}"
        )


# -- follow ----------------------------------------------------------------


def _follow_targets(config: FollowConfig) -> list[str]:
    """The target users, in order, deduplicated case-insensitively, no `@`."""
    if config.target_users:
        named = [
            (f"{FIELD}.target_users[{index}]", name)
            for index, name in enumerate(config.target_users)
        ]
    elif config.target_user and config.target_user.strip():
        named = _split_targets(f"{FIELD}.target_user", config.target_user)
    elif config.target_username and config.target_username.strip():
        named = _split_targets(f"{FIELD}.target_username", config.target_username)
    else:
        raise InvalidParameterError(
            f"{FIELD}.target_users",
            "is required: send target_users (a list of names), or target_user "
            "(names split by commas or newlines)",
        )

    targets: list[str] = []
    seen: set[str] = set()
    for field, raw in named:
        name = _target_name(field, raw)
        if name is not None and name.casefold() not in seen:
            seen.add(name.casefold())
            targets.append(name)
    if not targets:
        raise InvalidParameterError(named[0][0].partition("[")[0], "names no user")
    return targets


def _split_targets(field: str, text: str) -> list[tuple[str, str]]:
    return [(field, part) for part in _TARGET_SPLIT.split(text)]


def _target_name(field: str, raw: str) -> str | None:
    """A target's username without `@` and blanks; None for a blank entry."""
    if not raw.strip():
        return None
    return check_username(raw, field)
