"""What the route modules share: the runtime an app serves, and its settings."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import TYPE_CHECKING

from quart import current_app

if TYPE_CHECKING:
    from phonefarm.actors.runtime import Runtime

_EXTENSION_KEY = "phonefarm"


@dataclass(frozen=True)
class AppState:
    runtime: Runtime
    rng: random.Random
    max_body_bytes: int


def install(app_extensions: dict[str, object], state: AppState) -> None:
    app_extensions[_EXTENSION_KEY] = state


def app_state() -> AppState:
    """The state of the app handling the current request."""
    state = current_app.extensions[_EXTENSION_KEY]
    assert isinstance(state, AppState)
    return state


def current_runtime() -> Runtime:
    return app_state().runtime
