"""What scripts know about each app: its package, its links, its UI elements.

This module is data, not code paths. When an app's UI changes, the fix is
an edit here; the scripts in `actors/scripts/` only ask for elements by
their key ("post button"), and every app answers with its own selector.

A selector's `name` is the element's logical name, the same in every app
("Post button" is TikTok's "Post" and Instagram's "Share"): it is what a
failed task's error shows (`element not found: Post button`).

Some selectors are templates: a field holding `{n}` or `{username}` is
filled by `AppProfile.selector(key, n=1)`; the name is filled too, so an
error names the exact element ("Gallery item 2"). Every app has the same
keys: tests/actors/test_simulated_phone.py checks that, and that each
selector finds its element on the simulated phone.

Limitation: the selectors describe the English UI only; another language
needs its own texts (resource ids and content descriptions would stay).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import msgspec

from phonefarm.actors.driver import Selector


class AppProfile(msgspec.Struct, frozen=True, kw_only=True):
    """One app as scripts see it."""

    platform: str
    package: str
    profile_url_template: str  # with `{username}`, no leading "@"
    selectors: Mapping[str, Selector]

    def selector(self, key: str, **values: object) -> Selector:
        """Return the selector for `key`, its template fields filled in.

        Raises `KeyError` for an unknown key: that is a bug in a script,
        not something a task can meet.
        """
        template = self.selectors[key]
        if not values:
            return template
        return Selector(
            name=template.name.format(**values),
            text=_fill(template.text, values),
            resource_id=_fill(template.resource_id, values),
            description=_fill(template.description, values),
        )

    def profile_url(self, username: str) -> str:
        return self.profile_url_template.format(username=username)


def _fill(field: str | None, values: Mapping[str, object]) -> str | None:
    return None if field is None else field.format(**values)


def _keyed(selectors: dict[str, Selector]) -> Mapping[str, Selector]:
    return MappingProxyType(selectors)


_TIKTOK_ID = "com.zhiliaoapp.musically:id/"
_INSTAGRAM_ID = "com.instagram.android:id/"

TIKTOK = AppProfile(
    platform="tiktok",
    package="com.zhiliaoapp.musically",
    profile_url_template="https://www.tiktok.com/@{username}",
    selectors=_keyed(
        {
            # The "+" in the bottom bar has no text, only a content description.
            "create button": Selector(name="Create button", description="Create"),
            "upload button": Selector(
                name="Upload button", resource_id=_TIKTOK_ID + "upload_entry"
            ),
            "select multiple": Selector(name="Select multiple", text="Select multiple"),
            # Gallery cells share one resource id; the description numbers them
            # from the newest, so the file pushed last is "Media 1".
            "gallery item": Selector(
                name="Gallery item {n}",
                resource_id=_TIKTOK_ID + "gallery_item",
                description="Media {n}",
            ),
            "next button": Selector(
                name="Next button", resource_id=_TIKTOK_ID + "next", text="Next"
            ),
            # Only the id: an EditText's text is its hint until something is typed.
            "caption field": Selector(
                name="Caption field", resource_id=_TIKTOK_ID + "caption_input"
            ),
            "post button": Selector(
                name="Post button", resource_id=_TIKTOK_ID + "post", text="Post"
            ),
            "upload finished": Selector(
                name="Upload finished",
                resource_id=_TIKTOK_ID + "upload_status",
                text="Your post is now public",
            ),
            "search button": Selector(name="Search button", description="Search"),
            "search field": Selector(
                name="Search field", resource_id=_TIKTOK_ID + "search_input"
            ),
            # Without the id, `text=username` would also match the search field
            # once the name is typed into it.
            "search result": Selector(
                name="Search result {username}",
                resource_id=_TIKTOK_ID + "search_user_name",
                text="{username}",
            ),
            "profile title": Selector(
                name="Profile of {username}",
                resource_id=_TIKTOK_ID + "profile_title",
                text="@{username}",
            ),
            "follow button": Selector(
                name="Follow button",
                resource_id=_TIKTOK_ID + "profile_follow",
                text="Follow",
            ),
            "following label": Selector(
                name="Following label",
                resource_id=_TIKTOK_ID + "profile_follow",
                text="Following",
            ),
        }
    ),
)

INSTAGRAM = AppProfile(
    platform="instagram",
    package="com.instagram.android",
    profile_url_template="https://www.instagram.com/{username}",
    selectors=_keyed(
        {
            "create button": Selector(
                name="Create button",
                resource_id=_INSTAGRAM_ID + "creation_tab",
                description="Create",
            ),
            # The camera opens first; the thumbnail at its bottom left opens the
            # gallery.
            "upload button": Selector(
                name="Upload button",
                resource_id=_INSTAGRAM_ID + "gallery_button",
                description="Open gallery",
            ),
            "select multiple": Selector(
                name="Select multiple",
                resource_id=_INSTAGRAM_ID + "multi_select_button",
                description="Select multiple",
            ),
            "gallery item": Selector(
                name="Gallery item {n}",
                resource_id=_INSTAGRAM_ID + "gallery_grid_item_thumbnail",
                description="Gallery item {n}",
            ),
            "next button": Selector(
                name="Next button",
                resource_id=_INSTAGRAM_ID + "next_button_textview",
                text="Next",
            ),
            "caption field": Selector(
                name="Caption field",
                resource_id=_INSTAGRAM_ID + "caption_input_text_view",
            ),
            # Instagram calls it "Share"; the logical name stays "Post button".
            "post button": Selector(
                name="Post button",
                resource_id=_INSTAGRAM_ID + "share_footer_button",
                text="Share",
            ),
            "upload finished": Selector(
                name="Upload finished",
                resource_id=_INSTAGRAM_ID + "upload_status_text",
                text="Your post has been shared.",
            ),
            "search button": Selector(
                name="Search button",
                resource_id=_INSTAGRAM_ID + "search_tab",
                description="Search and explore",
            ),
            "search field": Selector(
                name="Search field",
                resource_id=_INSTAGRAM_ID + "action_bar_search_edit_text",
            ),
            "search result": Selector(
                name="Search result {username}",
                resource_id=_INSTAGRAM_ID + "row_search_user_username",
                text="{username}",
            ),
            "profile title": Selector(
                name="Profile of {username}",
                resource_id=_INSTAGRAM_ID + "action_bar_title",
                text="{username}",
            ),
            "follow button": Selector(
                name="Follow button",
                resource_id=_INSTAGRAM_ID + "profile_header_follow_button",
                text="Follow",
            ),
            "following label": Selector(
                name="Following label",
                resource_id=_INSTAGRAM_ID + "profile_header_follow_button",
                text="Following",
            ),
        }
    ),
)

APPS: Mapping[str, AppProfile] = MappingProxyType(
    {app.platform: app for app in (TIKTOK, INSTAGRAM)}
)
