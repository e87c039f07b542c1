"""`POST /task` bodies → task specs, or the error the contract names."""

import datetime as dt
import random
from zoneinfo import ZoneInfo

import pytest

from phonefarm.core.commands import Account, Device
from phonefarm.core.errors import (
    InvalidParameterError,
    MissingScriptNameError,
    UnsupportedScriptError,
)
from phonefarm.core.task_request import MAX_TASKS_PER_REQUEST, build_task_specs

NOW_US = 1_714_557_600_000_000  # 2024-05-01 10:00:00 UTC
TOKYO = ZoneInfo("Asia/Tokyo")  # 19:00 at NOW_US


class Fleet:
    def __init__(self, *serials: str, offline: tuple[str, ...] = ()) -> None:
        self.devices = {
            s: Device(serial=s, model="Pixel", driver="simulated", online=True)
            for s in serials
        }
        for s in offline:
            self.devices[s] = Device(
                serial=s, model="Pixel", driver="adb", online=False
            )

        self.by_name: dict[str, Account] = {}

    def add_account(self, serial, username, platform="tiktok"):
        self.by_name[username.lower()] = Account(
            username=username, serial=serial, platform=platform
        )
        return self

    def device(self, serial):
        return self.devices.get(serial)

    def account(self, username):
        return self.by_name.get(username)

    def accounts(self, serial=None):
        found = sorted(self.by_name.items())
        return [a for _, a in found if serial is None or a.serial == serial]


@pytest.fixture
def video(tmp_path):
    path = tmp_path / "video1.mp4"
    path.write_bytes(b"mp4")
    return str(path)


def build(body, fleet=None, *, seed=1, tz=dt.UTC, platform="tiktok"):
    return build_task_specs(
        body,
        fleet=fleet or Fleet("sim-01", "sim-02", "sim-03"),
        now_us=NOW_US,
        tz=tz,
        platform=platform,
        rng=random.Random(seed),
    )


def invalid(body, fleet=None) -> InvalidParameterError:
    with pytest.raises(InvalidParameterError) as caught:
        build(body, fleet)
    return caught.value


def post_body(video, **fields):
    return {
        "serials": ["sim-01"],
        "script_name": "post",
        "script_config": {"material_list": [video]},
        **fields,
    }


def follow_body(**fields):
    return {
        "serials": ["sim-01"],
        "script_name": "follow",
        "script_config": {"target_users": ["alice"]},
        **fields,
    }


# -- check order ---------------------------------------------------------------


@pytest.mark.parametrize("body", [[], "x", 5, None, True, [{"script_name": "post"}]])
def test_body_must_be_an_object(body):
    assert invalid(body).field == "body"


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"serials": 5},
        {"script_name": None, "serials": ["nope"]},
        {"script_name": ""},
        {"script_name": 5},
        {"script_name": ["post"]},
    ],
)
def test_missing_script_name_is_40002_before_other_fields(body):
    with pytest.raises(MissingScriptNameError):
        build(body)


@pytest.mark.parametrize(
    "name",
    ["unfollow", "comment", "account_warmup", "like", "POST", " post", "x" * 500],
)
def test_unsupported_script_is_40003_before_other_fields(name):
    with pytest.raises(UnsupportedScriptError) as caught:
        build({"script_name": name, "serials": 5, "script_config": "bad"})
    assert len(str(caught.value)) < 120


def test_other_fields_are_checked_after_the_script(video):
    assert invalid({"script_name": "post", "serials": 5}).field == "serials"


# -- device mode ---------------------------------------------------------------


def test_post_creates_one_task_per_device(video):
    specs = build(post_body(video, serials=["sim-01", "sim-02"]))
    assert [s.serial for s in specs] == ["sim-01", "sim-02"]
    for spec in specs:
        assert spec.script_name == "post"
        assert spec.source == "api"
        assert spec.platform == "tiktok"
        assert spec.username is None
        assert spec.enable_multi_account is False
        assert spec.script_config["material_list"] == [video]
        assert spec.script_config["upload_wait_time"] == 30  # default filled in
        assert (spec.min_interval, spec.max_interval) == (0, 0)


def test_platform_is_the_runtime_default(video):
    (spec,) = build(post_body(video), platform="instagram")
    assert spec.platform == "instagram"


def test_duplicate_serials_are_dropped_keeping_order(video):
    specs = build(post_body(video, serials=["sim-02", "sim-01", "sim-02", "sim-01"]))
    assert [s.serial for s in specs] == ["sim-02", "sim-01"]


def test_unknown_serials_are_named(video):
    error = invalid(post_body(video, serials=["sim-01", "ghost-1", "ghost-2"]))
    assert error.field == "serials"
    assert "ghost-1" in error.reason and "ghost-2" in error.reason
    assert "sim-01" not in error.reason


def test_many_unknown_serials_are_summarised(video):
    ghosts = [f"ghost-{n}" for n in range(50)]
    error = invalid(post_body(video, serials=ghosts))
    assert "ghost-0" in error.reason and "40 more" in error.reason


def test_a_known_offline_device_is_accepted(video):
    fleet = Fleet("sim-01", offline=("usb-1",))
    (spec,) = build(post_body(video, serials=["usb-1"]), fleet)
    assert spec.serial == "usb-1"


@pytest.mark.parametrize(
    ("serials", "field"),
    [
        ("sim-01", "serials"),
        ([1], "serials[0]"),
        (["sim-01", ""], "serials[1]"),
        (["sim-01", None], "serials[1]"),
        (["é" * 200], "serials[0]"),  # 400 bytes: too long for a key
    ],
)
def test_serials_must_be_non_empty_strings(video, serials, field):
    assert invalid(post_body(video, serials=serials)).field == field


def test_serials_or_usernames_exactly_one(video):
    neither = post_body(video)
    del neither["serials"]
    assert invalid(neither).field == "serials"
    assert invalid(post_body(video, serials=[])).field == "serials"
    assert invalid(post_body(video, serials=None)).field == "serials"
    both = post_body(video, usernames=["@alice"])
    assert "not both" in invalid(both).reason


def accounts_fleet():
    return (
        Fleet("sim-01", "sim-02", "sim-03")
        .add_account("sim-01", "Alice")
        .add_account("sim-01", "bob", "instagram")
        .add_account("sim-02", "carol")
    )


def test_account_mode_runs_on_each_accounts_phone(video):
    body = post_body(video, serials=None, usernames=["@alice", "CAROL", "alice"])
    specs = build(body, accounts_fleet())
    assert [(s.serial, s.username, s.platform) for s in specs] == [
        ("sim-01", "Alice", "tiktok"),
        ("sim-02", "carol", "tiktok"),
    ]


def test_account_mode_names_unknown_usernames(video):
    body = post_body(video, serials=None, usernames=["@alice", "@nobody", "ghost"])
    error = invalid(body, accounts_fleet())
    assert error.field == "usernames"
    assert error.reason == "unknown username: nobody, ghost"
    assert invalid(post_body(video, serials=None, usernames=[5])).field == (
        "usernames[0]"
    )
    bad = post_body(video, serials=None, usernames=["not a name!"])
    assert invalid(bad, accounts_fleet()).field == "usernames[0]"


def test_multi_account_makes_one_task_per_account_on_each_phone(video):
    body = post_body(video, serials=["sim-01", "sim-02"], enable_multi_account=True)
    specs = build(body, accounts_fleet())
    assert [(s.serial, s.username, s.platform) for s in specs] == [
        ("sim-01", "Alice", "tiktok"),
        ("sim-01", "bob", "instagram"),
        ("sim-02", "carol", "tiktok"),
    ]
    assert all(s.enable_multi_account for s in specs)


def test_multi_account_is_ignored_in_account_mode(video):
    body = post_body(video, serials=None, usernames=["bob"], enable_multi_account=True)
    (spec,) = build(body, accounts_fleet())
    assert (spec.serial, spec.username) == ("sim-01", "bob")


def test_follow_fans_out_per_target_per_account(video):
    body = {
        "serials": ["sim-01"],
        "enable_multi_account": True,
        "script_name": "follow",
        "script_config": {"target_user": "x1,x2"},
    }
    specs = build(body, accounts_fleet())
    assert [(s.username, s.script_config["target_username"]) for s in specs] == [
        ("Alice", "x1"),
        ("Alice", "x2"),
        ("bob", "x1"),
        ("bob", "x2"),
    ]


def test_multi_account_names_a_device_without_accounts(video):
    error = invalid(post_body(video, serials=["sim-02"], enable_multi_account=True))
    assert error.field == "enable_multi_account"
    assert "no accounts registered on device sim-02" in error.reason
    (spec,) = build(post_body(video, enable_multi_account=False))
    assert spec.enable_multi_account is False


@pytest.mark.parametrize("value", [1, "true", None])
def test_multi_account_must_be_a_bool(video, value):
    assert invalid(post_body(video, enable_multi_account=value)).field == (
        "enable_multi_account"
    )


# -- script config -------------------------------------------------------------


def test_script_config_is_required(video):
    body = post_body(video)
    del body["script_config"]
    assert invalid(body).field == "script_config"
    assert invalid(post_body(video, script_config=None)).field == "script_config"
    assert invalid(post_body(video, script_config=[])).field == "script_config"


def test_script_config_errors_name_the_nested_field(video):
    body = post_body(video, script_config={"material_list": [video, 3]})
    assert invalid(body).field == "script_config.material_list[1]"


def test_captions_spintax_is_resolved_once_per_task(video):
    config = {"material_list": [video], "captions": "{a|b|c|d|e|f|g|h} #fyp"}
    serials = [f"sim-{n:02d}" for n in range(1, 21)]
    specs = build(
        post_body(video, serials=serials, script_config=config), Fleet(*serials)
    )
    captions = [s.script_config["captions"] for s in specs]
    assert all(c in {f"{x} #fyp" for x in "abcdefgh"} for c in captions)
    assert len(set(captions)) > 1  # each task picks on its own
    again = build(
        post_body(video, serials=serials, script_config=config), Fleet(*serials)
    )
    assert [s.script_config["captions"] for s in again] == captions  # same seed


def test_follow_fans_out_per_target_per_device():
    body = follow_body(
        serials=["sim-01", "sim-02"],
        script_config={
            "target_users": ["alice", "@bob", "carol"],
            "access_method": "search",
            "rotate_proxy": False,
        },
    )
    specs = build(body)
    assert [(s.serial, s.script_config["target_username"]) for s in specs] == [
        ("sim-01", "alice"),
        ("sim-01", "bob"),
        ("sim-01", "carol"),
        ("sim-02", "alice"),
        ("sim-02", "bob"),
        ("sim-02", "carol"),
    ]
    for spec in specs:
        assert spec.script_config["access_method"] == "search"
        assert spec.script_config["rotate_proxy"] is False
        assert "target_users" not in spec.script_config
        assert "target_user" not in spec.script_config


def test_follow_with_target_user_string():
    body = follow_body(script_config={"target_user": "alice\nbob"})
    assert [s.script_config["target_username"] for s in build(body)] == ["alice", "bob"]


def test_at_most_ten_thousand_tasks_per_request():
    serials = [f"d{n}" for n in range(100)]
    fleet = Fleet(*serials)
    names = [f"user{n}" for n in range(100)]
    body = follow_body(serials=serials, script_config={"target_users": names})
    assert len(build(body, fleet)) == MAX_TASKS_PER_REQUEST
    body["script_config"] = {"target_users": [*names, "one_more"]}
    error = invalid(body, fleet)
    assert "10100" in error.reason and "10000" in error.reason


# -- schedule and intervals ----------------------------------------------------


@pytest.mark.parametrize("value", [None, ""])
def test_no_start_time_runs_as_soon_as_possible(video, value):
    (spec,) = build(post_body(video, start_time=value))
    assert spec.scheduled_at_us == NOW_US
    assert spec.start_time is None


def test_absent_start_time_runs_as_soon_as_possible(video):
    (spec,) = build(post_body(video))
    assert (spec.start_time, spec.scheduled_at_us) == (None, NOW_US)


def test_start_time_resolves_in_the_server_zone(video):
    (spec,) = build(post_body(video, start_time="19:30"), tz=TOKYO)
    assert spec.start_time == "19:30"
    assert spec.scheduled_at_us == NOW_US + 30 * 60_000_000
    (spec,) = build(post_body(video, start_time="18:00"), tz=TOKYO)
    assert spec.scheduled_at_us == NOW_US + 23 * 3_600_000_000


@pytest.mark.parametrize("value", ["24:00", "7:05", 730, True, ["07:05"]])
def test_bad_start_time_is_named(video, value):
    assert invalid(post_body(video, start_time=value)).field == "start_time"


def test_intervals_are_stored(video):
    (spec,) = build(post_body(video, min_interval=2, max_interval=10))
    assert (spec.min_interval, spec.max_interval) == (2, 10)
    (spec,) = build(post_body(video, max_interval=1440))
    assert spec.max_interval == 1440


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"min_interval": -1}, "min_interval"),
        ({"min_interval": 5.0, "max_interval": 10}, "min_interval"),
        ({"min_interval": "5"}, "min_interval"),
        ({"max_interval": True}, "max_interval"),
        ({"max_interval": 1441}, "max_interval"),
        ({"max_interval": 99999999999999999999}, "max_interval"),
        ({"min_interval": 5}, "max_interval"),  # above the default max of 0
        ({"min_interval": 6, "max_interval": 5}, "max_interval"),
    ],
)
def test_bad_intervals_are_named(video, fields, field):
    assert invalid(post_body(video, **fields)).field == field


def test_interval_bound_is_said(video):
    assert "1440" in invalid(post_body(video, max_interval=5000)).reason


def test_unknown_top_level_fields_are_ignored(video):
    (spec,) = build(post_body(video, rotate_proxy=True, task_name="x"))
    assert spec.serial == "sim-01"


def test_a_config_too_big_to_store_per_task_is_refused(video):
    body = post_body(video, serials=["sim-01"])
    body["script_config"]["note"] = "x" * (64 * 1024)
    error = invalid(body)
    assert error.field == "script_config" and "per task" in error.reason


def test_a_fan_out_that_would_store_too_much_is_refused(video):
    body = {
        "serials": ["sim-01", "sim-02", "sim-03"],
        "script_name": "follow",
        "script_config": {
            "target_users": [f"user{n}" for n in range(1000)],
            "note": "x" * 20_000,
        },
    }
    error = invalid(body)
    assert error.field == "script_config" and "MiB per request" in error.reason
    body["script_config"]["note"] = "x" * 100
    assert len(build(body)) == 3000
