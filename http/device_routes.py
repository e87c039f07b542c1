"""`/api/v1/device` (an extension) and `/api/v1/license/check`."""

from __future__ import annotations

from quart import Blueprint, Response

from phonefarm.http.context import current_runtime
from phonefarm.http.envelope import success

blueprint = Blueprint("devices", __name__, url_prefix="/api/v1")

LICENSE_MESSAGE = (
    "phonefarm has no license plans: the API is enabled, with no device limit"
)


@blueprint.get("/device")
async def list_devices() -> Response:
    runtime = current_runtime()
    usernames: dict[str, list[str]] = {}
    for account in runtime.store.accounts():
        usernames.setdefault(account.serial, []).append(account.username)
    devices = [
        {
            "serial": device.serial,
            "state": "online" if device.online else "offline",
            "model": device.model,
            "driver": device.driver,
            "current_task_id": runtime.current_task_id(device.serial),
            "accounts": usernames.get(device.serial, []),
        }
        for device in runtime.store.devices()
    ]
    return success({"devices": devices, "total": len(devices)})


@blueprint.get("/license/check")
async def check_license() -> Response:
    return success(
        {
            "plan_name": "phonefarm",
            "api_enabled": True,
            "device_limit": None,
            "message": LICENSE_MESSAGE,
        }
    )
