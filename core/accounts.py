"""Account names: how a username is written, compared and validated."""

from __future__ import annotations

import re

from phonefarm.core.errors import InvalidParameterError

PLATFORMS = ("tiktok", "instagram")
MAX_USERNAME_CHARS = 64
# Both apps allow letters, digits, "." and "_"; "-" is kept for safety.
_USERNAME = re.compile(r"[A-Za-z0-9._-]+")
# The same rule as a JSON Schema pattern, for the API's documents: what
# `check_username` accepts, leading "@" and surrounding blanks included.
USERNAME_PATTERN = rf"^ *@?[A-Za-z0-9._-]{{1,{MAX_USERNAME_CHARS}}} *$"


def display_username(raw: str) -> str:
    """The username as stored and shown: trimmed, without a leading "@"."""
    return raw.strip().removeprefix("@")


def normalise_username(raw: str) -> str:
    """The form accounts are unique by and looked up with: no "@", lowercase."""
    return display_username(raw).lower()


def check_username(raw: object, field: str) -> str:
    """Return the display form of a username, or raise 40001 naming `field`."""
    if not isinstance(raw, str):
        raise InvalidParameterError(field, "must be a string")
    name = display_username(raw)
    if not name:
        raise InvalidParameterError(field, "must not be empty")
    if len(name) > MAX_USERNAME_CHARS or not _USERNAME.fullmatch(name):
        raise InvalidParameterError(
            field,
            f"invalid username {raw.strip()!r}: 1 to {MAX_USERNAME_CHARS} letters, "
            "digits, '.', '_' or '-' (a leading '@' is dropped)",
        )
    return name
