"""The quart-trio app: `create_app(runtime)` wires routes, errors and limits.

The app serves a runtime that is already running (see
`actors/runtime.py`); it starts no background work of its own, so the
served app and the in-process test app behave the same.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

from quart_trio import QuartTrio

from phonefarm.http import account_routes, device_routes, task_routes
from phonefarm.http.context import AppState, install
from phonefarm.http.errors import register_error_handlers
from phonefarm.http.params import MAX_BODY_BYTES, TaskIdConverter

if TYPE_CHECKING:
    from phonefarm.actors.runtime import Runtime


def create_app(
    runtime: Runtime,
    *,
    rng: random.Random | None = None,
    max_body_bytes: int = MAX_BODY_BYTES,
) -> QuartTrio:
    """Build the app for a runtime; `rng` makes spintax picks reproducible."""
    app = QuartTrio(__name__)
    # Every answer is an envelope: no automatic OPTIONS replies (they have
    # an empty body), no redirects for doubled slashes (an HTML body).
    app.config["PROVIDE_AUTOMATIC_OPTIONS"] = False
    app.config["MAX_CONTENT_LENGTH"] = max_body_bytes
    app.url_map.merge_slashes = False
    app.url_map.converters["task_id"] = TaskIdConverter

    install(
        app.extensions,
        AppState(runtime, rng or random.SystemRandom(), max_body_bytes),
    )
    register_error_handlers(app)
    app.register_blueprint(task_routes.blueprint)
    app.register_blueprint(device_routes.blueprint)
    app.register_blueprint(account_routes.blueprint)
    return app
