"""A model of a phone's screens: TikTok, Instagram, a launcher and a browser.

Pure and synchronous: no trio, no I/O, time comes in as `now` (seconds on
any monotonic clock). `actors/simulated.py` wraps it in the driver
interface with delays and fault injection; a phone that speaks the real
ADB protocol can serve the same screens.

Each screen is a flat list of `Element`s, rendered to uiautomator's XML by
`render_hierarchy`. A tap runs the element's `action`. Both apps follow the
same flow with their own looks (texts, resource ids, content
descriptions):

    home -create-> camera -upload-> gallery -next-> caption -post-> home
      |                                              (uploading..., then done)
      +-search-> search -result-> profile <- open_url(profile link)

The looks are written here independently of `actors/selectors.py`: this
is the app, that is what scripts believe about it, and a test checks that
the two agree.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath

from phonefarm.actors.selectors import APPS

SCREEN_WIDTH = 1080
SCREEN_HEIGHT = 2400
LAUNCHER_PACKAGE = "com.google.android.apps.nexuslauncher"
BROWSER_PACKAGE = "com.android.chrome"
VIDEO_SUFFIXES = frozenset({".mp4", ".mov", ".m4v", ".webm", ".mkv", ".3gp"})
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".heic", ".gif"})
# Where MediaStore finds media; a real phone also needs a media scan after
# `adb push`, which the model skips.
MEDIA_ROOTS = ("/sdcard/", "/storage/emulated/0/")

Bounds = tuple[int, int, int, int]
EDIT_TEXT = "android.widget.EditText"
TEXT_VIEW = "android.widget.TextView"
BUTTON = "android.widget.Button"
IMAGE_VIEW = "android.widget.ImageView"


@dataclass(frozen=True)
class Element:
    """One node of a screen; `action` is what tapping it does."""

    class_name: str
    bounds: Bounds
    text: str = ""
    resource_id: str = ""
    description: str = ""
    clickable: bool = False
    enabled: bool = True
    selected: bool = False
    action: str | None = None

    @property
    def editable(self) -> bool:
        return self.class_name == EDIT_TEXT


@dataclass(frozen=True)
class Look:
    """How one element of an app reads: templates with `{n}`, `{username}`…"""

    text: str = ""
    resource_id: str = ""
    description: str = ""


def _looks(prefix: str, **looks: tuple[str, str, str]) -> dict[str, Look]:
    return {
        key: Look(text, prefix + rid if rid else "", desc)
        for key, (text, rid, desc) in looks.items()
    }


# key: (text, resource id without the package prefix, content description)
_APP_LOOKS: dict[str, dict[str, Look]] = {
    "tiktok": _looks(
        "com.zhiliaoapp.musically:id/",
        home_title=("For You", "tab_for_you", ""),
        create=("", "tab_create", "Create"),
        search=("", "search_entry", "Search"),
        uploading=("Posting {percent}%", "upload_progress", ""),
        upload_finished=("Your post is now public", "upload_status", ""),
        camera_title=("", "record_button", "Record"),
        upload=("Upload", "upload_entry", ""),
        close=("", "close", "Close"),
        select_multiple=("Select multiple", "multi_select", ""),
        gallery_item=("", "gallery_item", "Media {n}"),
        gallery_empty=("No videos or photos", "empty_text", ""),
        next=("Next", "next", ""),
        caption=("Add description...", "caption_input", ""),
        post=("Post", "post", ""),
        search_field=("Search", "search_input", ""),
        search_result=("{username}", "search_user_name", ""),
        profile_title=("@{username}", "profile_title", ""),
        follow=("Follow", "profile_follow", ""),
        following=("Following", "profile_follow", ""),
        back=("", "back", "Back"),
    ),
    "instagram": _looks(
        "com.instagram.android:id/",
        home_title=("", "title_logo", "Instagram"),
        create=("", "creation_tab", "Create"),
        search=("", "search_tab", "Search and explore"),
        uploading=("Sharing...", "upload_progress_text", ""),
        upload_finished=("Your post has been shared.", "upload_status_text", ""),
        camera_title=("New reel", "camera_title", ""),
        upload=("", "gallery_button", "Open gallery"),
        close=("", "camera_close_button", "Close"),
        select_multiple=("", "multi_select_button", "Select multiple"),
        gallery_item=("", "gallery_grid_item_thumbnail", "Gallery item {n}"),
        gallery_empty=("No photos or videos", "gallery_empty_text", ""),
        next=("Next", "next_button_textview", ""),
        caption=("Write a caption...", "caption_input_text_view", ""),
        post=("Share", "share_footer_button", ""),
        search_field=("Search", "action_bar_search_edit_text", ""),
        search_result=("{username}", "row_search_user_username", ""),
        profile_title=("{username}", "action_bar_title", ""),
        follow=("Follow", "profile_header_follow_button", ""),
        following=("Following", "profile_header_follow_button", ""),
        back=("", "action_bar_button_back", "Back"),
    ),
}


@dataclass(frozen=True)
class PushedFile:
    remote_path: str
    source: Path
    size_bytes: int
    seq: int  # push order: the gallery lists the highest first

    @property
    def is_media(self) -> bool:
        suffix = PurePosixPath(self.remote_path).suffix.lower()
        return self.remote_path.startswith(MEDIA_ROOTS) and (
            suffix in VIDEO_SUFFIXES or suffix in IMAGE_SUFFIXES
        )


@dataclass(frozen=True)
class Post:
    """A published post; `media` are phone paths in the order picked."""

    platform: str
    caption: str
    media: tuple[str, ...]
    published_at: float


@dataclass
class _Upload:
    post: Post
    started_at: float
    ready_at: float


@dataclass
class AppState:
    platform: str
    package: str
    running: bool = False
    screen: str = "home"
    profile: str | None = None
    query: str = ""
    multi_select: bool = False
    picked: list[str] = field(default_factory=list)
    caption: str = ""
    banner: _Upload | None = None  # the last upload, shown on home
    following: set[str] = field(default_factory=set)  # kept on the server


class PhoneModel:
    """The state of one phone and its apps; every change goes through here."""

    def __init__(self, following: Mapping[str, Iterable[str]] | None = None) -> None:
        self.files: dict[str, PushedFile] = {}
        self.posts: list[Post] = []
        self.foreground = LAUNCHER_PACKAGE
        self.browser_url = ""
        self.apps = {app.package: AppState(p, app.package) for p, app in APPS.items()}
        for platform, usernames in (following or {}).items():
            self.app(platform).following.update(u.lower() for u in usernames)
        self._uploads: list[_Upload] = []
        self._push_seq = 0

    def app(self, platform: str) -> AppState:
        return self.apps[APPS[platform].package]

    @property
    def screen(self) -> str:
        state = self.apps.get(self.foreground)
        if state is not None:
            return state.screen
        return "browser" if self.foreground == BROWSER_PACKAGE else "launcher"

    def advance(self, now: float, upload_s: float) -> None:
        """Publish every upload whose time has come.

        `upload_s` is the upload time now in force: changing it (a slow
        network) also moves the end of uploads already under way.
        """
        for upload in self._uploads:
            upload.ready_at = upload.started_at + upload_s
        for upload in [u for u in self._uploads if u.ready_at <= now]:
            self._uploads.remove(upload)
            self.posts.append(replace(upload.post, published_at=upload.ready_at))

    def start_app(self, package: str) -> None:
        """Bring an app to the front; a stopped one starts on its home screen."""
        if not self.apps[package].running:
            self._reset(package)
            self.apps[package].running = True
        self.foreground = package

    def stop_app(self, package: str) -> None:
        """Force-stop: the UI state goes, and so do uploads under way."""
        state = self.apps.get(package)
        if state is None:
            return
        self._reset(package)
        self._uploads = [u for u in self._uploads if u.post.platform != state.platform]
        if self.foreground == package:
            self.foreground = LAUNCHER_PACKAGE

    def open_url(self, url: str) -> None:
        """Open a profile link in its app, any other URL in the browser."""
        for platform, app in APPS.items():
            match = _profile_url_pattern(app.profile_url_template).match(url)
            if match:
                self.start_app(app.package)
                self._show_profile(self.app(platform), match["username"])
                return
        self.browser_url = url
        self.foreground = BROWSER_PACKAGE

    def push(self, remote_path: str, source: Path, size_bytes: int) -> None:
        self._push_seq += 1
        self.files[remote_path] = PushedFile(
            remote_path, source, size_bytes, self._push_seq
        )

    def gallery(self) -> list[PushedFile]:
        """Media files, newest first, as a gallery lists them."""
        media = [f for f in self.files.values() if f.is_media]
        return sorted(media, key=lambda f: f.seq, reverse=True)

    def elements(self, now: float) -> list[Element]:
        """What the screen shows now."""
        state = self.apps.get(self.foreground)
        if state is None:
            return (
                _browser(self.browser_url) if self.screen == "browser" else _launcher()
            )
        looks = _APP_LOOKS[state.platform]
        match state.screen:
            case "home":
                return _home(looks, state.banner, now)
            case "camera":
                return _camera(looks)
            case "gallery":
                return _gallery(looks, state, self.gallery())
            case "caption":
                return _caption(looks, state)
            case "search":
                return _search(looks, state.query)
            case "profile":
                assert state.profile is not None
                return _profile(looks, state.profile, state.profile in state.following)
        raise AssertionError(f"unknown screen {state.screen!r}")

    def tap(self, element: Element, now: float, upload_s: float) -> None:
        """Run a tapped element's action; a disabled element ignores taps."""
        if not element.enabled or element.action is None:
            return
        verb, _, arg = element.action.partition(":")
        if verb == "launch":
            self.start_app(arg)
            return
        state = self.apps[self.foreground]
        match verb:
            case "goto":
                state.banner = None
                state.screen = arg
            case "multi":
                state.multi_select = not state.multi_select
                state.picked.clear()
            case "pick":
                _pick(state, arg)
            case "next":
                state.screen = "caption" if state.picked else state.screen
            case "post":
                self._start_upload(state, now, upload_s)
            case "profile":
                self._show_profile(state, arg)
            case "follow":
                assert state.profile is not None
                state.following.add(state.profile)
            case "unfollow":
                state.following.discard(state.profile or "")
            case _:
                raise AssertionError(f"unknown action {element.action!r}")

    def type_text(self, text: str) -> None:
        """Replace the text of the screen's input; the caller checks there is one."""
        state = self.apps[self.foreground]
        if state.screen == "caption":
            state.caption = text
        elif state.screen == "search":
            state.query = text

    def _reset(self, package: str) -> None:
        old = self.apps[package]
        self.apps[package] = AppState(old.platform, package, following=old.following)

    def _show_profile(self, state: AppState, username: str) -> None:
        state.banner = None
        state.profile = username.lower()
        state.screen = "profile"

    def _start_upload(self, state: AppState, now: float, upload_s: float) -> None:
        post = Post(state.platform, state.caption, tuple(state.picked), now)
        upload = _Upload(post, started_at=now, ready_at=now + upload_s)
        self._uploads.append(upload)
        state.picked, state.caption, state.multi_select = [], "", False
        state.screen = "home"
        state.banner = upload


def _pick(state: AppState, remote_path: str) -> None:
    if not state.multi_select:
        state.picked[:] = [remote_path]
    elif remote_path in state.picked:
        state.picked.remove(remote_path)
    else:
        state.picked.append(remote_path)


def _profile_url_pattern(template: str) -> re.Pattern[str]:
    prefix, _, suffix = template.partition("{username}")
    return re.compile(
        f"^{re.escape(prefix)}(?P<username>[A-Za-z0-9._]+){re.escape(suffix)}"
        r"/?(?:[?#].*)?$"
    )


def _el(
    look: Look,
    bounds: Bounds,
    class_name: str = TEXT_VIEW,
    action: str | None = None,
    **values: object,
) -> Element:
    return Element(
        class_name=class_name,
        bounds=bounds,
        text=look.text.format(**values),
        resource_id=look.resource_id.format(**values),
        description=look.description.format(**values),
        clickable=action is not None or class_name == EDIT_TEXT,
        action=action,
    )


def _home(looks: dict[str, Look], banner: _Upload | None, now: float) -> list[Element]:
    elements = [
        _el(looks["home_title"], (390, 120, 690, 220)),
        _el(looks["search"], (940, 120, 1040, 220), IMAGE_VIEW, "goto:search"),
        _el(looks["create"], (480, 2250, 600, 2370), IMAGE_VIEW, "goto:camera"),
    ]
    if banner is not None and banner.ready_at <= now:
        elements.append(_el(looks["upload_finished"], (40, 240, 1040, 340)))
    elif banner is not None:
        done = (now - banner.started_at) / (banner.ready_at - banner.started_at)
        percent = min(99, int(100 * done))
        elements.append(_el(looks["uploading"], (40, 240, 1040, 340), percent=percent))
    return elements


def _camera(looks: dict[str, Look]) -> list[Element]:
    return [
        _el(looks["close"], (40, 120, 160, 240), IMAGE_VIEW, "goto:home"),
        _el(looks["camera_title"], (440, 2000, 640, 2200)),
        _el(looks["upload"], (820, 2040, 980, 2200), IMAGE_VIEW, "goto:gallery"),
    ]


def _gallery(
    looks: dict[str, Look], state: AppState, media: list[PushedFile]
) -> list[Element]:
    elements = [
        _el(looks["back"], (40, 120, 160, 240), IMAGE_VIEW, "goto:camera"),
        _el(looks["select_multiple"], (700, 120, 1040, 240), BUTTON, "multi"),
    ]
    for n, item in enumerate(media, start=1):
        row, col = divmod(n - 1, 3)
        x, y = col * 360, 300 + row * 360
        action = f"pick:{item.remote_path}"
        cell = _el(
            looks["gallery_item"], (x, y, x + 360, y + 360), IMAGE_VIEW, action, n=n
        )
        elements.append(replace(cell, selected=item.remote_path in state.picked))
    if not media:
        elements.append(_el(looks["gallery_empty"], (240, 1100, 840, 1200)))
    next_button = _el(looks["next"], (760, 2240, 1040, 2360), BUTTON, "next")
    elements.append(replace(next_button, enabled=bool(state.picked)))
    return elements


def _caption(looks: dict[str, Look], state: AppState) -> list[Element]:
    # uiautomator reports an empty EditText's hint as its text.
    caption = _el(looks["caption"], (40, 300, 1040, 700), EDIT_TEXT)
    return [
        _el(looks["back"], (40, 120, 160, 240), IMAGE_VIEW, "goto:gallery"),
        replace(caption, text=state.caption or caption.text),
        _el(looks["post"], (560, 2240, 1040, 2360), BUTTON, "post"),
    ]


def _search(looks: dict[str, Look], query: str) -> list[Element]:
    box = _el(looks["search_field"], (180, 120, 1040, 240), EDIT_TEXT)
    elements = [
        _el(looks["back"], (40, 120, 160, 240), IMAGE_VIEW, "goto:home"),
        replace(box, text=query or box.text),
    ]
    # The apps rank results by popularity, so a look-alike can come before
    # the exact name: a script must match the name, not take the first row.
    names = [f"{query}_official", query, f"{query}.fans"] if query else []
    for row, name in enumerate(names):
        y = 300 + row * 200
        elements.append(
            _el(
                looks["search_result"],
                (40, y, 1040, y + 180),
                action=f"profile:{name}",
                username=name,
            )
        )
    return elements


def _profile(looks: dict[str, Look], username: str, following: bool) -> list[Element]:
    button = _el(
        looks["following" if following else "follow"],
        (40, 900, 1040, 1020),
        BUTTON,
        "unfollow" if following else "follow",
    )
    return [
        _el(looks["back"], (40, 120, 160, 240), IMAGE_VIEW, "goto:home"),
        _el(looks["profile_title"], (200, 120, 880, 240), username=username),
        button,
    ]


def _launcher() -> list[Element]:
    return [
        Element(
            TEXT_VIEW,
            (60 + i * 260, 1900, 260 + i * 260, 2100),
            text=name,
            description=name,
            clickable=True,
            action=f"launch:{app.package}",
        )
        for i, (name, app) in enumerate(
            (("TikTok", APPS["tiktok"]), ("Instagram", APPS["instagram"]))
        )
    ]


def _browser(url: str) -> list[Element]:
    return [
        Element(
            EDIT_TEXT,
            (40, 100, 1040, 220),
            text=url,
            resource_id=f"{BROWSER_PACKAGE}:id/url_bar",
        )
    ]


def render_hierarchy(elements: Iterable[Element], package: str) -> str:
    """Render a screen as `uiautomator dump` does.

    A sample of the real thing (Android 13, trimmed):

        <?xml version='1.0' encoding='UTF-8' standalone='yes' ?>
        <hierarchy rotation="0"><node index="0" text="" resource-id=""
        class="android.widget.FrameLayout" package="com.zhiliaoapp.musically"
        content-desc="" checkable="false" checked="false" clickable="false"
        enabled="true" focusable="false" focused="false" scrollable="false"
        long-clickable="false" password="false" selected="false"
        bounds="[0,0][1080,2400]"> ... </node></hierarchy>
    """
    root = ET.Element("hierarchy", rotation="0")
    frame = ET.SubElement(
        root,
        "node",
        _attributes(
            Element("android.widget.FrameLayout", (0, 0, SCREEN_WIDTH, SCREEN_HEIGHT)),
            0,
            package,
        ),
    )
    for index, element in enumerate(elements):
        ET.SubElement(frame, "node", _attributes(element, index, package))
    body = ET.tostring(root, encoding="unicode")
    return "<?xml version='1.0' encoding='UTF-8' standalone='yes' ?>\n" + body


def _attributes(element: Element, index: int, package: str) -> dict[str, str]:
    def flag(value: bool) -> str:
        return "true" if value else "false"

    left, top, right, bottom = element.bounds
    return {
        "index": str(index),
        "text": element.text,
        "resource-id": element.resource_id,
        "class": element.class_name,
        "package": package,
        "content-desc": element.description,
        "checkable": "false",
        "checked": "false",
        "clickable": flag(element.clickable),
        "enabled": flag(element.enabled),
        "focusable": flag(element.clickable or element.editable),
        "focused": "false",
        "scrollable": "false",
        "long-clickable": "false",
        "password": "false",
        "selected": flag(element.selected),
        "bounds": f"[{left},{top}][{right},{bottom}]",
    }
