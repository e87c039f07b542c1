"""The `follow` script: follow one account, `script_config["target_username"]`.

The API layer makes one task per target user and stores that one name
under `target_username`. `access_method` "direct" opens the profile link;
"search" types the name into the app's search and taps the row whose
name matches exactly. Already following is a success, with no tap.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from phonefarm.actors.scripts.steps import (
    BoundedDriver,
    tap,
    type_text,
    wait_for,
    wait_for_any,
)
from phonefarm.core.errors import ScriptError

if TYPE_CHECKING:
    from phonefarm.actors.driver import Driver
    from phonefarm.actors.scripts import ScriptContext

log = logging.getLogger(__name__)


async def run_follow(ctx: ScriptContext) -> None:
    """Follow the task's target user; see the module docstring."""
    config = ctx.task.script_config
    username = target_username(config)
    method = config.get("access_method", "direct")
    driver = BoundedDriver(ctx.driver, ctx.call_timeout_s)
    app, timeout_s, poll_s = ctx.app, ctx.step_timeout_s, ctx.poll_s

    if method == "direct":
        await driver.open_url(app.profile_url(username))
    elif method == "search":
        await _open_by_search(driver, ctx, username)
    else:
        raise ScriptError(f"access_method not supported: {method}")
    profile = app.selector("profile title", username=username)
    await wait_for(driver, profile, timeout_s, poll_s)

    follow = app.selector("follow button")
    following = app.selector("following label")
    if await wait_for_any(driver, [follow, following], timeout_s, poll_s) == following:
        log.debug("already following task_id=%s", ctx.task.id)
        return
    await tap(driver, follow, timeout_s, poll_s)
    await wait_for(driver, following, timeout_s, poll_s)


def target_username(config: dict[str, Any]) -> str:
    """The target as the apps spell it: no "@", no spaces, lowercase."""
    value = config.get("target_username")
    if not isinstance(value, str) or not value.strip().lstrip("@"):
        raise ScriptError("follow needs a target_username")
    return value.strip().lstrip("@").lower()


async def _open_by_search(driver: Driver, ctx: ScriptContext, username: str) -> None:
    app, timeout_s, poll_s = ctx.app, ctx.step_timeout_s, ctx.poll_s
    # A fresh start puts the app on its home screen, where search is.
    await driver.app_stop(app.package)
    await driver.app_start(app.package)
    await tap(driver, app.selector("search button"), timeout_s, poll_s)
    field = app.selector("search field")
    await type_text(driver, field, username, timeout_s, poll_s)
    result = app.selector("search result", username=username)
    await tap(driver, result, timeout_s, poll_s)
