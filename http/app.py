"""The quart-trio app: `create_app(runtime)` wires routes, errors and limits.

The app serves a runtime that is already running (see
`actors/runtime.py`); it starts no background work of its own, so the
served app and the in-process test app behave the same.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

from quart_trio import QuartTrio

from phonefarm.http import (
    account_routes,
    device_routes,
    event_routes,
    meta_routes,
    task_routes,
)
from phonefarm.http.auth import AccessPolicy, install_access_checks
from phonefarm.http.context import AppState, install
from phonefarm.http.errors import register_error_handlers
from phonefarm.http.params import MAX_BODY_BYTES, TaskIdConverter

if TYPE_CHECKING:
    import trio

    from phonefarm.actors.runtime import Runtime


def create_app(
    runtime: Runtime,
    *,
    rng: random.Random | None = None,
    max_body_bytes: int = MAX_BODY_BYTES,
    token: str | None = None,
    disable_api: bool = False,
    stopping: trio.Event | None = None,
) -> QuartTrio:
    """Build the app for a runtime; `rng` makes spintax picks reproducible.

    `token`, when given, is required of every request as `Authorization:
    Bearer TOKEN`; `disable_api` answers 40301 to all but /health and
    /metrics. ValueError for a token no client could send. `stopping`,
    once set, ends every open event stream (serve passes its shutdown).
    """
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
    install_access_checks(
        app, AccessPolicy(token, disable_api=disable_api, max_body_bytes=max_body_bytes)
    )
    register_error_handlers(app)
    app.register_blueprint(task_routes.blueprint)
    app.register_blueprint(device_routes.blueprint)
    app.register_blueprint(account_routes.blueprint)
    app.register_blueprint(meta_routes.blueprint)
    app.register_blueprint(event_routes.blueprint)
    if stopping is not None:
        event_routes.end_streams_on(app, stopping)
    return app
