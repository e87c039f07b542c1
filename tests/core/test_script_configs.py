"""Per-script config validation: defaults, strict types, field paths, materials."""

import os

import pytest

from phonefarm.core.errors import InvalidParameterError
from phonefarm.core.script_configs import (
    MAX_EXTRA_DEPTH,
    SCRIPTS,
    validate_script_config,
)


@pytest.fixture
def video(tmp_path):
    path = tmp_path / "media" / "video1.mp4"
    path.parent.mkdir()
    path.write_bytes(b"\x00\x00\x00\x18ftypmp42")
    return path


def post(config, **kwargs):
    return validate_script_config("post", config, **kwargs)


def follow(config):
    return validate_script_config("follow", config)


def invalid(script_name, config, **kwargs) -> InvalidParameterError:
    with pytest.raises(InvalidParameterError) as caught:
        validate_script_config(script_name, config, **kwargs)
    return caught.value


# -- post --------------------------------------------------------------------


def test_post_fills_in_the_documented_defaults(video):
    config = post({"material_list": [str(video)]}).config
    assert config == {
        "content_type": 0,
        "image_count": 1,
        "captions": "",
        "post_way": "share",
        "material_source": "materialLibrary",
        "material_path": "",
        "material_list": [str(video)],
        "materials_tags": "",
        "upload_wait_time": 30,
        "sound_wait_time": 10,
        "add_sound": "-1",
        "sound_name": "",
        "custom_sound_keyword": "",
        "origin_sound_volume": 50,
        "add_sound_volume": 50,
        "add_product_link": 0,
        "placement": "reel",
    }


def test_post_keeps_sent_values_and_unknown_extra_keys(video):
    config = post(
        {
            "material_list": [str(video)],
            "captions": "{a|b} #fyp",
            "upload_wait_time": 60,
            "content_type": 1,
            "image_count": 3,
            "rotate_proxy": True,
            "nested": {"a": [1, 2, {"b": None}]},
        }
    ).config
    assert config["captions"] == "{a|b} #fyp"  # picked per task, not here
    assert config["upload_wait_time"] == 60
    assert (config["content_type"], config["image_count"]) == (1, 3)
    assert config["rotate_proxy"] is True
    assert config["nested"] == {"a": [1, 2, {"b": None}]}


def test_post_is_one_task_per_device_without_targets(video):
    assert post({"material_list": [str(video)]}).targets == ()


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("image_count", 5.0),
        ("image_count", "5"),
        ("image_count", True),
        ("image_count", 0),
        ("image_count", 99999999999999999999),
        ("upload_wait_time", -1),
        ("upload_wait_time", 30.5),
        ("sound_wait_time", None),
        ("origin_sound_volume", 101),
        ("add_sound_volume", -1),
        ("content_type", 2),
        ("content_type", "0"),
        ("add_product_link", 2),
        ("captions", 5),
        ("captions", ["a"]),
        ("post_way", "upload"),
        ("placement", "feed"),
        ("material_source", "cloud"),
        ("add_sound", True),
        ("add_sound", 2),
        ("add_sound", "2"),
        ("add_sound", 1.0),
    ],
)
def test_post_refuses_wrong_types_and_ranges_naming_the_field(video, key, value):
    error = invalid("post", {"material_list": [str(video)], key: value})
    assert error.field == f"script_config.{key}"


def test_post_enum_errors_list_the_allowed_values(video):
    error = invalid("post", {"material_list": [str(video)], "post_way": "upload"})
    assert '"share", "addButton", "useSound"' in error.reason


def test_post_range_errors_say_the_bound(video):
    error = invalid("post", {"material_list": [str(video)], "add_sound_volume": 101})
    assert "<= 100" in error.reason


@pytest.mark.parametrize(
    ("sent", "stored"),
    [("-1", "-1"), ("0", "0"), ("1", "1"), (-1, "-1"), (0, "0"), (1, "1")],
)
def test_post_add_sound_takes_a_string_or_an_integer(video, sent, stored):
    config = post({"material_list": [str(video)], "add_sound": sent}).config
    assert config["add_sound"] == stored


def test_post_custom_sound_needs_a_keyword(video):
    base = {"material_list": [str(video)], "add_sound": "custom"}
    assert invalid("post", base).field == "script_config.custom_sound_keyword"
    blank = {**base, "custom_sound_keyword": "  "}
    assert invalid("post", blank).field == "script_config.custom_sound_keyword"
    ok = post({**base, "custom_sound_keyword": "lofi"}).config
    assert ok["custom_sound_keyword"] == "lofi"


def test_post_use_sound_needs_a_sound_name(video):
    base = {"material_list": [str(video)], "post_way": "useSound"}
    assert invalid("post", base).field == "script_config.sound_name"
    assert (
        post({**base, "sound_name": "Original sound"}).config["post_way"] == "useSound"
    )


def test_post_material_list_must_be_a_list_of_strings(video):
    assert invalid("post", {"material_list": str(video)}).field == (
        "script_config.material_list"
    )
    error = invalid("post", {"material_list": [str(video), 7]})
    assert error.field == "script_config.material_list[1]"
    error = invalid("post", {"material_list": [str(video), ""]})
    assert error.field == "script_config.material_list[1]"


def test_post_material_list_is_bounded(video):
    error = invalid("post", {"material_list": [str(video)] * 1001})
    assert error.field == "script_config.material_list"
    assert "1000" in error.reason


def test_post_material_file_must_exist_on_the_server(video, tmp_path):
    missing = tmp_path / "gone.mp4"
    error = invalid("post", {"material_list": [str(video), str(missing)]})
    assert error.field == "script_config.material_list[1]"
    assert str(missing) in error.reason and "not found" in error.reason


@pytest.mark.parametrize(
    "path", ["C:/Videos/video1.mp4", "media/video1.mp4", "/nul\x00byte.mp4"]
)
def test_post_material_path_must_be_absolute_and_sane(path):
    error = invalid("post", {"material_list": [path]})
    assert error.field == "script_config.material_list[0]"


def test_post_material_list_entry_must_be_a_file(tmp_path):
    error = invalid("post", {"material_list": [str(tmp_path)]})
    assert error.field == "script_config.material_list[0]"
    assert "not a file" in error.reason


def test_post_material_must_be_inside_the_material_folders(video, tmp_path):
    allowed = (video.parent,)
    assert post({"material_list": [str(video)]}, material_dirs=allowed).config
    outside = tmp_path / "other.mp4"
    outside.write_bytes(b"x")
    error = invalid("post", {"material_list": [str(outside)]}, material_dirs=allowed)
    assert error.field == "script_config.material_list[0]"
    assert "outside" in error.reason


def test_post_material_folders_see_through_symlinks(video, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("x")
    link = video.parent / "innocent.mp4"
    os.symlink(secret, link)
    error = invalid(
        "post", {"material_list": [str(link)]}, material_dirs=(video.parent,)
    )
    assert "outside" in error.reason
    dotdot = f"{video.parent}/../secret.txt"
    error = invalid("post", {"material_list": [dotdot]}, material_dirs=(video.parent,))
    assert "outside" in error.reason


def test_post_without_material_list_needs_a_local_folder(video):
    error = invalid("post", {"captions": "hi"})
    assert error.field == "script_config.material_list"
    assert "material library" in error.reason
    error = invalid("post", {"material_source": "materialLibrary", "material_list": []})
    assert error.field == "script_config.material_list"


def test_post_local_folder_needs_an_existing_material_path(video, tmp_path):
    error = invalid("post", {"material_source": "localFolder"})
    assert error.field == "script_config.material_path"
    error = invalid(
        "post", {"material_source": "localFolder", "material_path": str(tmp_path / "x")}
    )
    assert error.field == "script_config.material_path"
    config = post(
        {"material_source": "localFolder", "material_path": str(video.parent)}
    )
    assert config.config["material_path"] == str(video.parent)


def test_post_local_folder_must_be_inside_the_material_folders(video, tmp_path):
    config = {"material_source": "localFolder", "material_path": str(tmp_path)}
    error = invalid("post", config, material_dirs=(video.parent,))
    assert error.field == "script_config.material_path"


def test_config_must_be_an_object():
    for value in ([], "x", 5, True):
        assert invalid("post", value).field == "script_config"


def test_extras_must_be_storable(video):
    base = {"material_list": [str(video)]}
    error = invalid("post", {**base, "big": 2**63})
    assert error.field == "script_config.big"
    error = invalid("post", {**base, "deep": {"x": [-(2**64)]}})
    assert error.field == "script_config.deep"
    deep: object = 1
    for _ in range(MAX_EXTRA_DEPTH):
        deep = [deep]
    error = invalid("post", {**base, "deep": deep})
    assert error.field == "script_config.deep" and "nested" in error.reason
    assert post({**base, "ok": 2**63 - 1, "neg": -(2**63)}).config["ok"] == 2**63 - 1


# -- follow ------------------------------------------------------------------


def test_follow_takes_a_list_of_target_users():
    result = follow({"target_users": ["alice", "bob"]})
    assert result.targets == ("alice", "bob")
    assert result.config == {"access_method": "direct"}


def test_follow_splits_target_user_on_commas_and_newlines():
    result = follow({"target_user": "alice, bob\ncarol\r\ndave,,\n"})
    assert result.targets == ("alice", "bob", "carol", "dave")


def test_follow_accepts_target_username_as_a_synonym():
    assert follow({"target_username": "alice"}).targets == ("alice",)
    assert follow({"target_username": "alice,bob"}).targets == ("alice", "bob")


def test_follow_target_users_wins_over_target_user():
    result = follow({"target_users": ["alice"], "target_user": "bob"})
    assert result.targets == ("alice",)
    result = follow({"target_user": "bob", "target_username": "carol"})
    assert result.targets == ("bob",)


def test_follow_drops_at_signs_blanks_and_duplicates():
    result = follow({"target_users": ["@alice", " bob ", "", "Alice", "bob"]})
    assert result.targets == ("alice", "bob")


def test_follow_needs_a_target():
    for config in (
        {},
        {"target_users": []},
        {"target_user": ""},
        {"target_user": None, "target_username": "  "},
    ):
        assert invalid("follow", config).field == "script_config.target_users"
    assert (
        invalid("follow", {"target_user": ",\n,"}).field == "script_config.target_user"
    )


def test_follow_refuses_wrong_types_naming_the_field():
    assert invalid("follow", {"target_users": "alice"}).field == (
        "script_config.target_users"
    )
    assert invalid("follow", {"target_users": ["alice", 5]}).field == (
        "script_config.target_users[1]"
    )
    assert invalid("follow", {"target_user": ["alice"]}).field == (
        "script_config.target_user"
    )
    error = invalid("follow", {"target_users": ["a"], "access_method": "dm"})
    assert error.field == "script_config.access_method"


@pytest.mark.parametrize("name", ["al ice", "a/b", "a?b", "@", "x" * 65, "a#b"])
def test_follow_refuses_names_that_are_not_usernames(name):
    assert invalid("follow", {"target_users": ["ok", name]}).field == (
        "script_config.target_users[1]"
    )


def test_follow_keeps_the_access_method_and_extras():
    result = follow({"target_users": ["a"], "access_method": "search", "x": 1})
    assert result.config == {"access_method": "search", "x": 1}


# -- definitions -------------------------------------------------------------


def test_script_definitions_serve_schema_and_defaults():
    assert set(SCRIPTS) == {"post", "follow"}
    defaults = SCRIPTS["post"].defaults()
    assert defaults["upload_wait_time"] == 30 and defaults["add_sound"] == "-1"
    schema = SCRIPTS["post"].json_schema()
    props = schema["$defs"]["PostConfig"]["properties"]
    assert props["origin_sound_volume"]["maximum"] == 100
    assert sorted(props["post_way"]["enum"]) == ["addButton", "share", "useSound"]
    follow_props = SCRIPTS["follow"].json_schema()["$defs"]["FollowConfig"][
        "properties"
    ]
    assert follow_props["access_method"]["default"] == "direct"
