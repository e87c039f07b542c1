"""`/api/v1/account` (an extension): the account registry username mode reads.

An account is an app login on a phone. Usernames are written with or
without "@" and match case-insensitively; they are unique across
platforms. Registering one on a phone lets `POST /task` take `usernames`
and `enable_multi_account`.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from quart import Blueprint, Response

from phonefarm.core.accounts import USERNAME_PATTERN, check_username
from phonefarm.core.commands import Account, AddAccount, RemoveAccount
from phonefarm.core.errors import InvalidParameterError
from phonefarm.core.script_configs import convert_strict
from phonefarm.core.task_request import MAX_SERIAL_BYTES
from phonefarm.http.context import app_state, current_runtime
from phonefarm.http.envelope import success
from phonefarm.http.params import query_arg, read_json_object

blueprint = Blueprint("accounts", __name__, url_prefix="/api/v1")


class NewAccount(msgspec.Struct, kw_only=True):
    """The body of `POST /account`; unknown keys are ignored."""

    serial: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_SERIAL_BYTES)]
    username: Annotated[str, msgspec.Meta(pattern=USERNAME_PATTERN)]
    platform: Literal["tiktok", "instagram"] | None = None


def account_object(account: Account) -> dict[str, str]:
    return {
        "username": account.username,
        "serial": account.serial,
        "platform": account.platform,
    }


@blueprint.get("/account")
async def list_accounts() -> Response:
    serial = query_arg("serial")
    accounts = current_runtime().store.accounts(serial)
    return success(
        {"accounts": [account_object(a) for a in accounts], "total": len(accounts)}
    )


@blueprint.post("/account")
async def add_account() -> Response:
    state = app_state()
    runtime = state.runtime
    body = await read_json_object(state.max_body_bytes)
    if "serial" not in body:
        raise InvalidParameterError("serial", "is required")
    if "username" not in body:
        raise InvalidParameterError("username", "is required")
    username = check_username(body["username"], "username")
    fields = convert_strict(body, NewAccount)
    platform = fields.platform or runtime.config.platform

    (added,) = await runtime.writer.submit(
        AddAccount(fields.serial, username, platform)
    )
    # Answer from the committed event: a DELETE racing this one may already
    # have removed the account from the projection.
    event = added.event
    return success(
        {"username": event.username, "serial": event.serial, "platform": event.platform}
    )


@blueprint.delete("/account/<username>")
async def remove_account(username: str) -> Response:
    runtime = current_runtime()
    name = check_username(username, "username")
    (removed,) = await runtime.writer.submit(RemoveAccount(name))
    return success({"deleted": removed.event.username})
