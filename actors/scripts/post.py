"""The `post` script: publish a video, or images, with a caption.

Steps: check and push each material file, restart the app, create →
upload → pick the pushed media → next, type the caption, tap Post, then
wait at most `upload_wait_time` seconds for the app to say it is done.

Which files: `material_list` as given, else (`material_source`
"localFolder") the media files of `material_path`, sorted by name. A video
post (`content_type` 0) takes the first one; an images post (1) the first
`image_count`.

Limitation: `post_way`, sounds (`add_sound` and the rest), TikTok product
links and Instagram's `placement` are accepted but not acted on: each
needs its own screens and selectors. Every task of one folder posts the
same first file; choosing another would be a random or rotating pick that
has to be recorded in an event first.
Limitation: pushed files stay on the phone; the driver interface has no
delete yet.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from phonefarm.actors.scripts.steps import BoundedDriver, tap, type_text, wait_for
from phonefarm.core.errors import (
    ElementNotFoundError,
    MaterialNotAllowedError,
    MaterialNotFoundError,
    ScriptError,
    UploadTimeoutError,
)

if TYPE_CHECKING:
    from phonefarm.actors.driver import Driver
    from phonefarm.actors.scripts import ScriptContext

log = logging.getLogger(__name__)

VIDEO_SUFFIXES = frozenset({".mp4", ".mov", ".m4v", ".webm", ".mkv", ".3gp"})
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".heic"})
# The camera folder, so the apps' galleries list the files with the rest.
REMOTE_DIR = "/sdcard/DCIM/Camera"


async def run_post(ctx: ScriptContext) -> None:
    """Publish one post; see the module docstring for the steps and errors."""
    config = ctx.task.script_config
    images = config.get("content_type", 0) == 1
    materials = _choose_materials(config, images, ctx.material_dirs)
    driver = BoundedDriver(ctx.driver, ctx.call_timeout_s)

    remote_paths = []
    for index, material in enumerate(materials):
        remote_paths.append(await _push(driver, ctx, index, material))

    await driver.app_stop(ctx.app.package)
    await driver.app_start(ctx.app.package)
    await _pick_media(driver, ctx, len(remote_paths))

    caption = config.get("captions") or ""
    if caption:
        field = ctx.app.selector("caption field")
        await type_text(driver, field, caption, ctx.step_timeout_s, ctx.poll_s)
    await tap(driver, ctx.app.selector("post button"), ctx.step_timeout_s, ctx.poll_s)

    upload_wait_s = config.get("upload_wait_time", 30)
    finished = ctx.app.selector("upload finished")
    try:
        await wait_for(driver, finished, upload_wait_s, ctx.poll_s)
    except ElementNotFoundError:
        raise UploadTimeoutError(upload_wait_s) from None
    log.debug("post published task_id=%s media_count=%d", ctx.task.id, len(materials))


def _choose_materials(
    config: dict[str, Any], images: bool, material_dirs: tuple[Path, ...] | None
) -> list[str]:
    """Return the paths (as the config spells them) this post will push."""
    count = max(1, config.get("image_count", 1)) if images else 1
    material_list = config.get("material_list") or []
    if material_list:
        return [str(path) for path in material_list[:count]]

    if config.get("material_source") != "localFolder":
        raise ScriptError("post needs material_list, or a localFolder material_path")
    folder_text = str(config.get("material_path") or "")
    folder = _allowed(folder_text, material_dirs)
    if not folder.is_dir():
        raise MaterialNotFoundError(folder_text)
    suffixes = IMAGE_SUFFIXES if images else VIDEO_SUFFIXES
    files = sorted(
        path
        for path in folder.iterdir()
        if path.suffix.lower() in suffixes
        and not path.name.startswith(".")
        and path.is_file()
    )
    if not files:
        raise MaterialNotFoundError(folder_text)
    return [str(path) for path in files[:count]]


async def _push(driver: Driver, ctx: ScriptContext, index: int, material: str) -> str:
    """Check a material right before pushing it; return its path on the phone."""
    path = _allowed(material, ctx.material_dirs)
    if not path.is_file():
        raise MaterialNotFoundError(material)
    safe_name = re.sub(r"[^A-Za-z0-9._-]", "_", path.name)
    remote_path = f"{REMOTE_DIR}/phonefarm_{ctx.task.id}_{index}_{safe_name}"
    await driver.push(path, remote_path)
    return remote_path


def _allowed(path_text: str, material_dirs: tuple[Path, ...] | None) -> Path:
    """Return the path if it lies in a material folder (or none are set).

    Symlinks are resolved first, so a link cannot lead out of a folder.
    Refused before anything else is looked at: the error says nothing
    about whether the file exists.
    """
    path = Path(path_text)
    if material_dirs is None:
        return path
    try:
        resolved = path.resolve()
        inside = any(resolved.is_relative_to(d.resolve()) for d in material_dirs)
    except (OSError, RuntimeError):  # a symlink loop: RuntimeError on 3.11
        inside = False
    if not inside:
        raise MaterialNotAllowedError(path_text)
    return path


async def _pick_media(driver: Driver, ctx: ScriptContext, count: int) -> None:
    """Open the gallery and pick the `count` files pushed last, in push order.

    The gallery lists the newest first, so the first file pushed is item
    `count`: picking `count` down to 1 keeps the materials' order.
    """
    app, timeout_s, poll_s = ctx.app, ctx.step_timeout_s, ctx.poll_s
    await tap(driver, app.selector("create button"), timeout_s, poll_s)
    await tap(driver, app.selector("upload button"), timeout_s, poll_s)
    if count > 1:
        await tap(driver, app.selector("select multiple"), timeout_s, poll_s)
    for n in range(count, 0, -1):
        await tap(driver, app.selector("gallery item", n=n), timeout_s, poll_s)
    await tap(driver, app.selector("next button"), timeout_s, poll_s)
