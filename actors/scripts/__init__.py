"""The scripts a task can run, by `script_name`.

A script is an async function of a `ScriptContext`. It returns on success
and raises a `PhonefarmError` on failure; the error's message becomes the
task's `error`. A stop is a trio cancellation that lands between two
driver calls: scripts never catch `trio.Cancelled`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from phonefarm.actors.driver import Driver
from phonefarm.actors.scripts.follow import run_follow
from phonefarm.actors.scripts.post import run_post
from phonefarm.actors.selectors import APPS, AppProfile
from phonefarm.core.errors import ScriptError
from phonefarm.core.task import Task


@dataclass(frozen=True)
class ScriptContext:
    """What a script works with.

    `material_dirs`: None lets `post` push any file of the server's disk;
    otherwise only files under these folders (`serve --material-dir`).
    `poll_s`: the pause between two checks while waiting for an element.
    `step_timeout_s`: how long a step waits for its element to appear.
    `call_timeout_s`: the longest one driver call may take (a push gets
    more for a big file); an overrun is `DriverTimeoutError`.
    """

    driver: Driver
    task: Task
    app: AppProfile
    material_dirs: tuple[Path, ...] | None = None
    poll_s: float = 0.25
    step_timeout_s: float = 10.0
    call_timeout_s: float = 30.0


Script = Callable[[ScriptContext], Awaitable[None]]

SCRIPTS: dict[str, Script] = {"post": run_post, "follow": run_follow}


def app_for(task: Task) -> AppProfile:
    """The app a task drives; `ScriptError` for a platform with no profile."""
    try:
        return APPS[task.platform]
    except KeyError:
        raise ScriptError(f"platform not supported: {task.platform}") from None
