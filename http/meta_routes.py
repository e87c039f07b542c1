"""`/health`, `/metrics`, `/scripts` and `/openapi.json`: the server about itself.

`/health` and `/metrics` are cheap (counters and in-memory numbers, no
scan) and stay reachable under `serve --disable-api`, so a monitor can
watch a server whose API is switched off.
"""

from __future__ import annotations

import importlib.metadata

import msgspec
from quart import Blueprint, Response, current_app

from phonefarm.core.script_configs import SCRIPTS
from phonefarm.core.task import TaskStatus
from phonefarm.http import operations  # noqa: F401  (declares the task routes)
from phonefarm.http.auth import access_policy
from phonefarm.http.context import current_runtime
from phonefarm.http.envelope import JSON_CONTENT_TYPE, success
from phonefarm.http.openapi import API_PREFIX, build_document, operation
from phonefarm.http.schemas import Health, ScriptInfo, ScriptList

blueprint = Blueprint("meta", __name__, url_prefix=API_PREFIX)

PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_DOCUMENT_KEY = "phonefarm.openapi"


def _version() -> str:
    try:
        return importlib.metadata.version("phonefarm")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


VERSION = _version()


@blueprint.get("/health")
@operation(
    "GET",
    "/health",
    "Say the server is up",
    description="Cheap: reads nothing from disk. Answers under --disable-api too.",
    response=Health,
    always_enabled=True,
    tag="server",
)
async def health() -> Response:
    runtime = current_runtime()
    return success(
        Health(status="ok", version=VERSION, last_seq=runtime.writer.last_seq)
    )


@blueprint.get("/metrics")
@operation(
    "GET",
    "/metrics",
    "Counters in Prometheus' text format",
    description=(
        "Tasks by status, devices online and known, writer commits since the "
        "start, the last event's seq. Answers under --disable-api too."
    ),
    response=str,
    media_type="text/plain",
    always_enabled=True,
    tag="server",
)
async def metrics() -> Response:
    runtime = current_runtime()
    stats = runtime.store.stats()
    devices = runtime.store.devices()
    online = sum(1 for device in devices if device.online)
    lines = [
        *_metric(
            "phonefarm_info",
            "gauge",
            "The server's version.",
            {f'version="{VERSION}"': 1},
        ),
        *_metric(
            "phonefarm_tasks",
            "gauge",
            "Tasks in the store, by status.",
            {f'status="{s.text}"': stats[s.text] for s in TaskStatus},
        ),
        *_metric(
            "phonefarm_devices", "gauge", "Phones the server knows.", {"": len(devices)}
        ),
        *_metric(
            "phonefarm_devices_online", "gauge", "Phones online now.", {"": online}
        ),
        *_metric(
            "phonefarm_writer_commits_total",
            "counter",
            "Write transactions committed since the server started.",
            {"": runtime.writer.commits},
        ),
        *_metric(
            "phonefarm_event_log_last_seq",
            "gauge",
            "Sequence number of the last event in the log.",
            {"": runtime.writer.last_seq},
        ),
    ]
    return Response("\n".join(lines) + "\n", content_type=PROMETHEUS_CONTENT_TYPE)


def _metric(name: str, kind: str, help_text: str, samples: dict[str, int]) -> list[str]:
    lines = [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
    for labels, value in samples.items():
        lines.append(f"{name}{{{labels}}} {value}" if labels else f"{name} {value}")
    return lines


@blueprint.get("/scripts")
@operation(
    "GET",
    "/scripts",
    "Each script's config schema and defaults",
    response=ScriptList,
    tag="server",
)
async def scripts() -> Response:
    return success(
        ScriptList(
            scripts=[
                ScriptInfo(
                    name=name,
                    config_schema=definition.json_schema(),
                    defaults=definition.defaults(),
                )
                for name, definition in SCRIPTS.items()
            ]
        )
    )


@blueprint.get("/openapi.json")
@operation(
    "GET",
    "/openapi.json",
    "This API as an OpenAPI 3.1 document",
    description="Answers the bare document on success, not the envelope.",
    media_type="application/json",
    tag="server",
)
async def openapi_document() -> Response:
    # Built on first use, once every route module has declared its routes.
    body = current_app.extensions.get(_DOCUMENT_KEY)
    if body is None:
        document = build_document(
            current_app,  # type: ignore[arg-type]
            token_required=access_policy(current_app).token is not None,  # type: ignore[arg-type]
            version=VERSION,
        )
        body = msgspec.json.encode(document)
        current_app.extensions[_DOCUMENT_KEY] = body
    return Response(body, content_type=JSON_CONTENT_TYPE)
