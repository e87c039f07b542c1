"""`start_time` "HH:MM": strict parsing and resolution to the next instant."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from phonefarm.core.errors import InvalidParameterError
from phonefarm.core.schedule import StartTime, parse_start_time, scheduled_at_us

UTC = dt.UTC
NEW_YORK = ZoneInfo("America/New_York")
EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)


def us(year, month, day, hour=0, minute=0, second=0, tz=UTC, fold=0):
    moment = dt.datetime(year, month, day, hour, minute, second, tzinfo=tz, fold=fold)
    return (moment - EPOCH) // dt.timedelta(microseconds=1)


def at(start: str, now_us: int, tz=UTC) -> int:
    return scheduled_at_us(parse_start_time(start), now_us, tz)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("00:00", (0, 0)), ("23:59", (23, 59)), ("07:05", (7, 5)), ("12:00", (12, 0))],
)
def test_parse_start_time_accepts_two_digits_each(text, expected):
    parsed = parse_start_time(text)
    assert parsed == StartTime(*expected)
    assert str(parsed) == text


@pytest.mark.parametrize("value", [None, ""])
def test_parse_start_time_absent_null_and_empty_mean_asap(value):
    assert parse_start_time(value) is None


@pytest.mark.parametrize(
    "value",
    [
        "24:00",
        "7:5",
        "7:05",
        "07:5",
        "12:60",
        "-1:00",
        "12:00:00",
        " 07:05",
        "07:05 ",
        "07-05",
        "ab:cd",
        "０７:０５",  # full-width digits
        "٠٧:٠٥",  # Arabic-Indic digits: str.isdigit() says yes, ASCII says no
        "+7:05",
        730,
        7.5,
        True,
        False,
        [],
        {},
    ],
)
def test_parse_start_time_refuses_anything_else_naming_the_field(value):
    with pytest.raises(InvalidParameterError) as caught:
        parse_start_time(value)
    assert caught.value.field == "start_time"


def test_asap_is_now():
    now = us(2024, 5, 1, 10, 0, 30)
    assert scheduled_at_us(None, now, UTC) == now


def test_the_current_minute_means_now():
    now = us(2024, 5, 1, 10, 0, 59) + 999_999
    assert at("10:00", now) == now


def test_a_later_minute_today_is_today():
    assert at("10:01", us(2024, 5, 1, 10, 0, 30)) == us(2024, 5, 1, 10, 1)


def test_a_past_minute_is_tomorrow():
    assert at("09:59", us(2024, 5, 1, 10, 0, 30)) == us(2024, 5, 2, 9, 59)
    assert at("00:00", us(2024, 12, 31, 23, 59, 59)) == us(2025, 1, 1, 0, 0)


def test_the_time_is_read_in_the_given_zone():
    tokyo = ZoneInfo("Asia/Tokyo")
    now = us(2024, 5, 1, 0, 30)  # 09:30 in Tokyo
    assert at("10:00", now, tokyo) == us(2024, 5, 1, 1, 0)
    assert at("09:00", now, tokyo) == us(2024, 5, 2, 0, 0)
    fixed = dt.timezone(dt.timedelta(hours=-3))
    assert at("21:30", now, fixed) == us(2024, 5, 1, 0, 30)  # the current minute


def test_a_time_in_a_spring_forward_gap_runs_when_the_clock_jumps():
    # New York, 2024-03-10: 02:00 EST becomes 03:00 EDT at 07:00Z.
    now = us(2024, 3, 10, 1, 0, tz=NEW_YORK)
    jump = us(2024, 3, 10, 7, 0)
    assert at("02:30", now, NEW_YORK) == jump
    assert at("02:00", now, NEW_YORK) == jump
    assert at("03:00", now, NEW_YORK) == jump
    assert at("03:01", now, NEW_YORK) == jump + 60_000_000


def test_a_gap_time_already_passed_today_is_tomorrow():
    now = us(2024, 3, 10, 4, 0, tz=NEW_YORK)
    assert at("02:30", now, NEW_YORK) == us(2024, 3, 11, 2, 30, tz=NEW_YORK)


def test_a_time_in_a_fall_back_fold_runs_at_its_next_occurrence():
    # New York, 2024-11-03: 01:00-02:00 shows twice, EDT (05:xxZ) then EST (06:xxZ).
    before = us(2024, 11, 3, 0, 30, tz=NEW_YORK)
    assert at("01:30", before, NEW_YORK) == us(2024, 11, 3, 5, 30)
    during_first_pass = us(2024, 11, 3, 5, 45)
    assert at("01:30", during_first_pass, NEW_YORK) == us(2024, 11, 3, 6, 30)
    during_second_pass = us(2024, 11, 3, 6, 45)
    assert at("01:30", during_second_pass, NEW_YORK) == us(2024, 11, 4, 6, 30)


def test_the_current_minute_on_the_second_pass_of_a_fold_is_now():
    now = us(2024, 11, 3, 6, 30, 10)  # 01:30:10 EST
    assert at("01:30", now, NEW_YORK) == now


def test_a_skipped_calendar_day_still_resolves():
    # Samoa skipped 2011-12-30: 23:59:59 on the 29th (-10) was followed by
    # 00:00 on the 31st (+14), at 2011-12-30 10:00Z.
    apia = ZoneInfo("Pacific/Apia")
    now = us(2011, 12, 29, 23, 0, tz=apia)
    assert at("10:00", now, apia) == us(2011, 12, 30, 10, 0)
    # 00:30 on the skipped day never showed either: due at the jump too.
    assert at("00:30", now, apia) == us(2011, 12, 30, 10, 0)
    assert at("00:30", us(2011, 12, 31, 0, 10, tz=apia), apia) == us(
        2011, 12, 31, 0, 30, tz=apia
    )


ZONES = [UTC, NEW_YORK, ZoneInfo("Europe/London"), ZoneInfo("Australia/Lord_Howe")]


@given(
    now_us=st.integers(us(2000, 1, 1), us(2040, 1, 1)),
    hour=st.integers(0, 23),
    minute=st.integers(0, 59),
    tz=st.sampled_from(ZONES),
)
def test_resolution_is_the_next_instant_showing_the_time(now_us, hour, minute, tz):
    start = StartTime(hour, minute)
    result = scheduled_at_us(start, now_us, tz)

    local = (EPOCH + dt.timedelta(microseconds=result)).astimezone(tz)
    now_local = (EPOCH + dt.timedelta(microseconds=now_us)).astimezone(tz)
    if result == now_us:
        assert (now_local.hour, now_local.minute) == (hour, minute)
        return
    assert now_us < result <= now_us + 2 * 86_400_000_000
    if (local.hour, local.minute) != (hour, minute):
        # Only a gap may move it: the clock jumped over HH:MM at `result`.
        just_before = (EPOCH + dt.timedelta(microseconds=result - 1)).astimezone(tz)
        assert just_before.utcoffset() != local.utcoffset()
    else:
        assert local.second == 0 and local.microsecond == 0
