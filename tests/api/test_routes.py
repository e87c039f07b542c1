"""The HTTP API through quart's in-process test app, against a real runtime.

Devices are registered with `MarkDeviceOnline` and have no actor, so the
tasks created here stay as the test leaves them; `/device` is checked
against simulated phones separately.
"""

import json
import logging
from zoneinfo import ZoneInfo

import pytest
from api_support import (
    MAX_BODY,
    NOW_US,
    TASK_FIELDS,
    FixedClock,
    call,
    concurrently,
    create,
    follow_body,
    post_body,
)

from phonefarm.actors.runtime import RuntimeConfig, open_runtime
from phonefarm.core.commands import (
    CompleteTask,
    FailTask,
    MarkDeviceOffline,
    StartTask,
)
from phonefarm.core.errors import StoreFullError
from phonefarm.http.app import create_app


async def get_task(client, task_id) -> dict:
    status, envelope = await call(client, "GET", f"/api/v1/task/{task_id}")
    assert (status, envelope["code"]) == (200, 0), envelope
    return envelope["data"]


def assert_error(result, code, http_status, *words):
    status, envelope = result
    assert (status, envelope["code"]) == (http_status, code), envelope
    for word in words:
        assert word in envelope["message"], envelope["message"]


# -- creating and reading ------------------------------------------------------


async def test_create_post_task_then_read_it(client, video):
    task_ids = await create(client, post_body(video))
    assert task_ids == [1]

    task = await get_task(client, 1)
    assert TASK_FIELDS <= set(task)
    assert task["id"] == 1 and task["serial"] == "dev-1"
    assert task["username"] is None
    assert (task["status"], task["status_text"]) == (0, "pending")
    assert task["source"] == "api" and task["script_name"] == "post"
    assert task["attempts"] == 1 and task["error"] is None
    assert task["created_at"] == "2024-05-01T10:00:00.000+00:00"
    assert task["scheduled_at"] == task["created_at"]
    assert task["started_at"] is None and task["finished_at"] is None
    assert task["start_time"] is None
    assert task["enable_multi_account"] is False
    assert (task["min_interval"], task["max_interval"]) == (0, 0)
    config = task["script_config"]
    assert config["captions"] in ("a #fyp", "b #fyp")  # picked at creation
    assert config["material_list"] == [video]
    assert config["upload_wait_time"] == 30  # the default, filled in


async def test_create_answers_ids_and_count(client, video):
    status, envelope = await call(
        client, "POST", "/api/v1/task", post_body(video, ["dev-1", "dev-2"])
    )
    assert status == 200
    assert envelope == {
        "code": 0,
        "message": "success",
        "data": {"task_ids": [1, 2], "created_count": 2},
    }


async def test_created_tasks_appear_in_list_and_stats(client, video):
    await create(client, post_body(video, ["dev-1", "dev-2"]))

    status, envelope = await call(client, "GET", "/api/v1/task")
    assert status == 200
    data = envelope["data"]
    assert (data["total"], data["page"], data["page_size"]) == (2, 1, 20)
    assert [t["id"] for t in data["tasks"]] == [2, 1]  # newest first
    assert TASK_FIELDS <= set(data["tasks"][0])

    _, envelope = await call(client, "GET", "/api/v1/task/stats")
    assert envelope["data"] == {
        "total": 2,
        "pending": 2,
        "running": 0,
        "completed": 0,
        "failed": 0,
    }


async def test_follow_fans_out_one_task_per_target_per_device(client):
    ids = await create(client, follow_body(["dev-1", "dev-2"], ["alice", "@bob"]))
    assert ids == [1, 2, 3, 4]
    tasks = [await get_task(client, i) for i in ids]
    assert [(t["serial"], t["script_config"]["target_username"]) for t in tasks] == [
        ("dev-1", "alice"),
        ("dev-1", "bob"),
        ("dev-2", "alice"),
        ("dev-2", "bob"),
    ]
    assert all(t["script_config"]["access_method"] == "direct" for t in tasks)


async def test_start_time_schedules_in_the_server_zone(client, video):
    (task_id,) = await create(client, post_body(video, start_time="10:30"))
    task = await get_task(client, task_id)
    assert task["start_time"] == "10:30"
    assert task["scheduled_at"] == "2024-05-01T10:30:00.000+00:00"
    assert task["status"] == 0


@pytest.mark.parametrize("clock", [FixedClock(NOW_US, ZoneInfo("Asia/Tokyo"))])
async def test_times_are_shown_in_the_runtime_zone(client, video):
    (task_id,) = await create(client, post_body(video, start_time="19:05"))
    task = await get_task(client, task_id)
    assert task["created_at"] == "2024-05-01T19:00:00.000+09:00"
    assert task["scheduled_at"] == "2024-05-01T19:05:00.000+09:00"


async def test_intervals_are_kept(client, video):
    (task_id,) = await create(client, post_body(video, min_interval=1, max_interval=3))
    task = await get_task(client, task_id)
    assert (task["min_interval"], task["max_interval"]) == (1, 3)


async def test_an_offline_known_device_is_accepted(client, runtime, video):
    await runtime.writer.submit(MarkDeviceOffline(serial="dev-3", reason="unplugged"))
    assert await create(client, post_body(video, ["dev-3"])) == [1]


async def test_dry_run_validates_and_creates_nothing(client):
    status, envelope = await call(
        client,
        "POST",
        "/api/v1/task",
        follow_body(["dev-1", "dev-2"], ["a", "b", "c"]),
        query={"dry_run": "true"},
    )
    assert status == 200
    assert envelope["data"] == {"task_ids": [], "created_count": 0, "would_create": 6}
    _, envelope = await call(client, "GET", "/api/v1/task/stats")
    assert envelope["data"]["total"] == 0


async def test_the_body_is_json_whatever_the_content_type(client):
    body = json.dumps(follow_body()).encode()
    status, envelope = await call(
        client,
        "POST",
        "/api/v1/task",
        data=body,
        headers={"Content-Type": "text/plain"},
    )
    assert (status, envelope["code"]) == (200, 0)


# -- validation and its order ----------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"not json",
        b"{",
        b"[1, 2]",
        b'"post"',
        b"null",
        b"\xff\xfe{}",
        b'{"a": 1} x',
    ],
)
async def test_a_body_that_is_not_a_json_object_is_40001(client, data):
    result = await call(client, "POST", "/api/v1/task", data=data)
    assert_error(result, 40001, 400, "body")


async def test_invalid_utf8_inside_a_string_is_40001(client):
    data = b'{"script_name": "po\xffst"}'
    assert_error(await call(client, "POST", "/api/v1/task", data=data), 40001, 400)


async def test_deeply_nested_json_is_40001_not_500(client):
    data = b'{"script_name": "post", "x": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    assert_error(await call(client, "POST", "/api/v1/task", data=data), 40001, 400)


async def test_missing_script_name_is_40002(client):
    result = await call(client, "POST", "/api/v1/task", {"serials": 5})
    assert_error(result, 40002, 400, "script_name")
    result = await call(client, "POST", "/api/v1/task", {"script_name": ""})
    assert_error(result, 40002, 400, "script_name")


@pytest.mark.parametrize("name", ["unfollow", "comment", "account_warmup", "nope"])
async def test_unsupported_script_is_40003_before_other_fields(client, name):
    body = {"script_name": name, "serials": "not a list", "script_config": 5}
    assert_error(await call(client, "POST", "/api/v1/task", body), 40003, 400, name)


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"serials": "dev-1"}, "serials"),
        ({"serials": ["dev-1", 5]}, "serials[1]"),
        ({"serials": ["ghost"]}, "ghost"),
        ({"serials": []}, "serials"),
        ({"usernames": ["@alice"]}, "not both"),
        ({"serials": [], "usernames": ["@alice"]}, "unknown username: alice"),
        ({"enable_multi_account": True}, "dev-1"),
        ({"start_time": "24:00"}, "start_time"),
        ({"start_time": 730}, "start_time"),
        ({"min_interval": 5}, "max_interval"),
        ({"max_interval": 1441}, "1440"),
        ({"max_interval": 99999999999999999999}, "max_interval"),
        ({"min_interval": 1.0}, "min_interval"),
        ({"script_config": None}, "script_config"),
        ({"script_config": {"material_list": [7]}}, "script_config.material_list[0]"),
        ({"script_config": {"material_list": ["/no/such.mp4"]}}, "/no/such.mp4"),
        ({"script_config": {"captions": "x"}}, "material library"),
    ],
)
async def test_other_fields_are_40001_naming_them(client, video, fields, named):
    body = {**post_body(video), **fields}
    assert_error(await call(client, "POST", "/api/v1/task", body), 40001, 400, named)


async def test_too_many_tasks_is_40001_and_creates_nothing(client):
    targets = [f"user{n}" for n in range(5001)]
    body = follow_body(["dev-1", "dev-2"], targets)
    assert_error(await call(client, "POST", "/api/v1/task", body), 40001, 400, "10000")
    _, envelope = await call(client, "GET", "/api/v1/task/stats")
    assert envelope["data"]["total"] == 0


async def test_a_body_over_one_mebibyte_is_41301(client):
    data = b'{"script_name": "post", "pad": "' + b"x" * MAX_BODY + b'"}'
    assert_error(await call(client, "POST", "/api/v1/task", data=data), 41301, 413)


async def test_a_body_just_under_the_limit_is_read(client):
    prefix = b'{"script_name": "nope", "pad": "'
    data = prefix + b"x" * (MAX_BODY - len(prefix) - 2) + b'"}'
    assert len(data) == MAX_BODY
    assert_error(await call(client, "POST", "/api/v1/task", data=data), 40003, 400)


# -- routes, methods and path ids ------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/"),
        ("GET", "/api/v1/nothing"),
        ("GET", "/api/v2/task"),
        ("GET", "/api/v1/task/"),
        ("GET", "/api//v1/task"),
        ("POST", "/api/v1/task/1/explode"),
        ("POST", "/api/v1/task/stats/stop"),
    ],
)
async def test_an_unknown_route_is_40401(client, method, path):
    assert_error(await call(client, method, path), 40401, 404)


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("PUT", "/api/v1/task", "GET"),
        ("PATCH", "/api/v1/task/1", "DELETE"),
        ("GET", "/api/v1/task/1/stop", "POST"),
        ("DELETE", "/api/v1/task/stats", "GET"),
        ("POST", "/api/v1/task/stats", "GET"),
        ("GET", "/api/v1/task/batch", "DELETE"),
        ("GET", "/api/v1/task/retry-all", "POST"),
        ("POST", "/api/v1/license/check", "GET"),
        ("OPTIONS", "/api/v1/task", "POST"),
    ],
)
async def test_a_wrong_method_is_40001_with_405(client, method, path, allowed):
    response = await client.open(path, method=method)
    envelope = json.loads(await response.get_data())
    assert (response.status_code, envelope["code"]) == (405, 40001)
    assert envelope["data"] is None
    assert allowed in response.headers["Allow"]


@pytest.mark.parametrize(
    "raw",
    ["abc", "1.0", "-1", "99999999999999999999", "0", "+1", "1e3", "%D9%A3", "%201"],
)
@pytest.mark.parametrize(
    ("method", "template"),
    [
        ("GET", "/api/v1/task/{}"),
        ("DELETE", "/api/v1/task/{}"),
        ("POST", "/api/v1/task/{}/stop"),
        ("POST", "/api/v1/task/{}/retry"),
    ],
)
async def test_a_bad_path_id_is_40001_naming_task_id(client, method, template, raw):
    result = await call(client, method, template.format(raw))
    assert_error(result, 40001, 400, "task_id")


async def test_the_largest_id_is_well_formed_but_absent(client):
    result = await call(client, "GET", f"/api/v1/task/{(1 << 63) - 1}")
    assert_error(result, 40401, 404)
    result = await call(client, "GET", f"/api/v1/task/{1 << 63}")
    assert_error(result, 40001, 400, "task_id")


@pytest.mark.parametrize(
    ("method", "suffix"),
    [("GET", ""), ("DELETE", ""), ("POST", "/stop"), ("POST", "/retry")],
)
async def test_an_absent_task_is_40401(client, method, suffix):
    result = await call(client, method, f"/api/v1/task/42{suffix}")
    assert_error(result, 40401, 404, "42")


# -- listing -------------------------------------------------------------------


async def make_mixed_tasks(client, runtime, video):
    """Tasks 1-2 post on dev-1, 3-4 follow on dev-2; task 3 failed."""
    await create(client, post_body(video, ["dev-1"]))
    await create(client, post_body(video, ["dev-1"]))
    await create(client, follow_body(["dev-2"], ["a", "b"]))
    await runtime.writer.submit(StartTask(task_id=3, serial="dev-2"))
    await runtime.writer.submit(FailTask(task_id=3, attempt=1, error="boom"))


async def list_ids(client, **query) -> tuple[list[int], dict]:
    status, envelope = await call(client, "GET", "/api/v1/task", query=query)
    assert (status, envelope["code"]) == (200, 0), envelope
    return [t["id"] for t in envelope["data"]["tasks"]], envelope["data"]


async def test_list_filters_combine(client, runtime, video):
    await make_mixed_tasks(client, runtime, video)
    assert (await list_ids(client))[0] == [4, 3, 2, 1]
    assert (await list_ids(client, serial="dev-1"))[0] == [2, 1]
    assert (await list_ids(client, script_name="follow"))[0] == [4, 3]
    assert (await list_ids(client, status="3"))[0] == [3]
    assert (await list_ids(client, status="0", serial="dev-2"))[0] == [4]
    assert (await list_ids(client, source="api", script_name="post"))[0] == [2, 1]
    ids, data = await list_ids(client, source="ui")
    assert ids == [] and data["total"] == 0
    ids, data = await list_ids(client, serial="ghost")
    assert ids == [] and data["total"] == 0
    ids, data = await list_ids(client, serial="x" * 5000, script_name="y" * 5000)
    assert ids == [] and data["total"] == 0


async def test_list_pages(client, runtime, video):
    await make_mixed_tasks(client, runtime, video)
    ids, data = await list_ids(client, page_size="3")
    assert ids == [4, 3, 2] and data["total"] == 4 and data["page_size"] == 3
    ids, data = await list_ids(client, page_size="3", page="2")
    assert ids == [1] and data["page"] == 2
    ids, data = await list_ids(client, page_size="3", page="3")
    assert ids == [] and data["total"] == 4  # past the end: an empty page
    ids, data = await list_ids(client, page="9223372036854775807")
    assert ids == [] and data["total"] == 4


async def test_page_size_above_100_is_capped(client):
    _, data = await list_ids(client, page_size="101")
    assert data["page_size"] == 100
    _, data = await list_ids(client, page_size="5000")
    assert data["page_size"] == 100


async def test_empty_query_values_count_as_absent(client):
    _, data = await list_ids(client, page="", page_size="", status="", serial="")
    assert (data["page"], data["page_size"]) == (1, 20)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("page", "0"),
        ("page", "-1"),
        ("page", "1.0"),
        ("page", "abc"),
        ("page", " 1"),
        ("page", "١"),  # Arabic-Indic one: a digit, but not ASCII
        ("page", "99999999999999999999"),
        ("page_size", "0"),
        ("page_size", "-5"),
        ("page_size", "2.5"),
        ("status", "4"),
        ("status", "-1"),
        ("status", "pending"),
        ("source", "web"),
        ("dry_run", "yes"),
    ],
)
async def test_bad_query_values_are_40001_naming_them(client, name, value):
    method = "POST" if name == "dry_run" else "GET"
    result = await call(client, method, "/api/v1/task", query={name: value})
    assert_error(result, 40001, 400, name)


# -- stop, retry, delete ---------------------------------------------------------


async def test_stop_a_pending_task_fails_it(client, video):
    (task_id,) = await create(client, post_body(video))
    status, envelope = await call(client, "POST", f"/api/v1/task/{task_id}/stop")
    assert (status, envelope["code"]) == (200, 0)
    task = envelope["data"]
    assert (task["id"], task["status"], task["status_text"]) == (task_id, 3, "failed")
    assert task["error"] == "stopped by user"
    assert task["finished_at"] == "2024-05-01T10:00:00.000+00:00"

    status, again = await call(client, "POST", f"/api/v1/task/{task_id}/stop")
    assert (status, again["code"]) == (200, 0)
    assert again["data"] == task  # already failed: success, no change


async def test_retry_a_failed_task_makes_it_pending_again(client, video):
    (task_id,) = await create(client, post_body(video))
    await call(client, "POST", f"/api/v1/task/{task_id}/stop")

    status, envelope = await call(client, "POST", f"/api/v1/task/{task_id}/retry")
    assert (status, envelope["code"]) == (200, 0)
    task = envelope["data"]
    assert (task["status"], task["attempts"], task["error"]) == (0, 2, None)
    assert task["finished_at"] is None

    result = await call(client, "POST", f"/api/v1/task/{task_id}/retry")
    assert_error(result, 40901, 409, "pending")


async def test_a_completed_task_cannot_be_stopped_or_retried(client, runtime, video):
    (task_id,) = await create(client, post_body(video))
    await runtime.writer.submit(StartTask(task_id=task_id, serial="dev-1"))
    running = await get_task(client, task_id)
    assert running["status"] == 1 and running["started_at"] is not None
    await runtime.writer.submit(CompleteTask(task_id=task_id, attempt=1))

    assert_error(await call(client, "POST", f"/api/v1/task/{task_id}/stop"), 40901, 409)
    assert_error(
        await call(client, "POST", f"/api/v1/task/{task_id}/retry"), 40901, 409
    )
    assert (await get_task(client, task_id))["status"] == 2


async def test_delete_a_task(client, video):
    (task_id,) = await create(client, post_body(video))
    status, envelope = await call(client, "DELETE", f"/api/v1/task/{task_id}")
    assert (status, envelope["code"], envelope["data"]) == (
        200,
        0,
        {"deleted": task_id},
    )
    assert_error(await call(client, "GET", f"/api/v1/task/{task_id}"), 40401, 404)
    assert_error(await call(client, "DELETE", f"/api/v1/task/{task_id}"), 40401, 404)
    _, envelope = await call(client, "GET", "/api/v1/task/stats")
    assert envelope["data"]["total"] == 0


async def test_delete_a_running_task_stops_it_first(client, runtime, video):
    (task_id,) = await create(client, post_body(video))
    await runtime.writer.submit(StartTask(task_id=task_id, serial="dev-1"))
    status, envelope = await call(client, "DELETE", f"/api/v1/task/{task_id}")
    assert (status, envelope["data"]) == (200, {"deleted": task_id})
    types = [r.event.type_name() for r in runtime.store.task_history(task_id)]
    assert types[-2:] == ["task.stopped", "task.deleted"]


async def test_batch_delete(client, video):
    await create(client, post_body(video, ["dev-1", "dev-2", "dev-3"]))
    status, envelope = await call(
        client, "DELETE", "/api/v1/task/batch", {"task_ids": [1, 99, 1, 3]}
    )
    assert (status, envelope["code"]) == (200, 0)
    assert envelope["data"] == {"deleted_count": 2, "not_found": [99]}
    ids, _ = await list_ids(client)
    assert ids == [2]


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"task_ids": "1"},
        {"task_ids": [2, "1"]},
        {"task_ids": [2, 0]},
        {"task_ids": [2, True]},
        {"task_ids": [2, 1.0]},
        {"task_ids": [2, 2**63]},
    ],
)
async def test_batch_delete_refuses_bad_ids_and_deletes_nothing(client, video, body):
    await create(client, post_body(video, ["dev-1", "dev-2"]))
    result = await call(client, "DELETE", "/api/v1/task/batch", body)
    assert_error(result, 40001, 400, "task_ids")
    assert (await list_ids(client))[0] == [2, 1]


async def test_batch_delete_of_nothing_succeeds(client):
    status, envelope = await call(
        client, "DELETE", "/api/v1/task/batch", {"task_ids": []}
    )
    assert (status, envelope["data"]) == (200, {"deleted_count": 0, "not_found": []})


async def test_retry_all_failed_tasks(client, runtime, video):
    await create(client, post_body(video, ["dev-1", "dev-2", "dev-3"]))
    await call(client, "POST", "/api/v1/task/1/stop")
    await call(client, "POST", "/api/v1/task/3/stop")
    status, envelope = await call(client, "POST", "/api/v1/task/retry-all")
    assert (status, envelope["data"]) == (200, {"retried_count": 2, "task_ids": [1, 3]})
    _, envelope = await call(client, "GET", "/api/v1/task/stats")
    assert envelope["data"]["pending"] == 3 and envelope["data"]["failed"] == 0


# -- license, devices ------------------------------------------------------------


async def test_license_check(client):
    status, envelope = await call(client, "GET", "/api/v1/license/check")
    assert (status, envelope["code"]) == (200, 0)
    data = envelope["data"]
    assert data["plan_name"] == "phonefarm"
    assert data["api_enabled"] is True
    assert data["device_limit"] is None
    assert isinstance(data["message"], str) and data["message"]


async def test_devices_lists_registered_devices(client, runtime):
    await runtime.writer.submit(MarkDeviceOffline(serial="dev-2", reason="unplugged"))
    status, envelope = await call(client, "GET", "/api/v1/device")
    assert status == 200
    data = envelope["data"]
    assert data["total"] == 3
    by_serial = {d["serial"]: d for d in data["devices"]}
    assert by_serial["dev-1"] == {
        "serial": "dev-1",
        "state": "online",
        "model": "Pixel 7",
        "driver": "adb",
        "current_task_id": None,
        "accounts": [],
    }
    assert by_serial["dev-2"]["state"] == "offline"


async def test_devices_shows_simulated_phones(tmp_path):
    config = RuntimeConfig(data_dir=tmp_path / "sim", simulate=2)
    async with open_runtime(config) as rt:
        app = create_app(rt)
        async with app.test_app() as test_app:
            _, envelope = await call(test_app.test_client(), "GET", "/api/v1/device")
    devices = envelope["data"]["devices"]
    assert [(d["serial"], d["state"], d["driver"]) for d in devices] == [
        ("sim-01", "online", "simulated"),
        ("sim-02", "online", "simulated"),
    ]


# -- internal errors -------------------------------------------------------------


async def test_an_unexpected_error_is_50001_with_a_logged_request_id(
    client, runtime, monkeypatch, caplog
):
    def broken():
        raise RuntimeError("secret internals")

    monkeypatch.setattr(runtime.store, "stats", broken)
    with caplog.at_level(logging.ERROR, logger="phonefarm.http.errors"):
        status, envelope = await call(client, "GET", "/api/v1/task/stats")
    assert (status, envelope["code"]) == (500, 50001)
    assert (
        "secret" not in envelope["message"] and "Traceback" not in envelope["message"]
    )
    request_id = envelope["data"]["request_id"]
    assert request_id
    (record,) = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert request_id in record.getMessage()
    assert record.exc_info is not None and record.exc_info[0] is RuntimeError


async def test_a_store_error_is_50001_saying_why(client, runtime, monkeypatch, video):
    async def full(command):
        raise StoreFullError("no space left on device")

    monkeypatch.setattr(runtime.writer, "submit", full)
    status, envelope = await call(client, "POST", "/api/v1/task", post_body(video))
    monkeypatch.undo()  # the runtime's shutdown submits too
    assert (status, envelope["code"]) == (500, 50001)
    assert "no space left on device" in envelope["message"]
    assert envelope["data"]["request_id"]


async def send_chunked(client, chunks: list[bytes]):
    async with client.request("/api/v1/task", method="POST") as connection:
        for chunk in chunks:
            await connection.send(chunk)
        await connection.send_complete()
        response = await connection.as_response()
    assert b"content-length" not in {
        name.lower() for name, _ in connection.scope["headers"]
    }
    return response.status_code, json.loads(await response.get_data())


async def test_a_chunked_body_over_the_limit_is_41301(client):
    chunks = [b'{"pad": "'] + [b"x" * 65_536] * 17 + [b'"}']
    status, envelope = await send_chunked(client, chunks)
    assert (status, envelope["code"]) == (413, 41301)


async def test_a_chunked_body_under_the_limit_is_read(client):
    body = json.dumps(follow_body()).encode()
    status, envelope = await send_chunked(client, [body[:10], body[10:]])
    assert (status, envelope["code"]) == (200, 0)


async def test_one_info_line_per_created_batch_without_payloads(client, video, caplog):
    body = post_body(video, ["dev-1", "dev-2"])
    body["script_config"]["captions"] = "secret caption"
    with caplog.at_level(logging.INFO, logger="phonefarm.http"):
        await create(client, body)
    lines = [
        r.getMessage() for r in caplog.records if r.name.startswith("phonefarm.http")
    ]
    assert lines == [
        "tasks created count=2 task_ids=1-2 script_name=post serials=dev-1,dev-2"
    ]


class TickingClock(FixedClock):
    """Moves one millisecond each time it is read, as a real clock would."""

    def now_us(self) -> int:
        self._now_us += 1_000
        return self._now_us


@pytest.mark.parametrize("clock", [TickingClock(NOW_US)])
async def test_an_asap_task_is_scheduled_at_its_creation(client, video):
    (task_id,) = await create(client, post_body(video))
    task = await get_task(client, task_id)
    assert task["scheduled_at"] == task["created_at"]
    (later_id,) = await create(client, post_body(video, start_time="10:30"))
    assert (await get_task(client, later_id))["scheduled_at"] == (
        "2024-05-01T10:30:00.000+00:00"
    )


async def test_a_stop_racing_a_delete_answers_the_stop_it_committed(
    client, runtime, video
):
    for _ in range(20):
        (task_id,) = await create(client, post_body(video))
        (status, envelope), _ = await concurrently(
            (client, "POST", f"/api/v1/task/{task_id}/stop"),
            (client, "DELETE", f"/api/v1/task/{task_id}"),
        )
        kinds = [type(r.event).type_name() for r in runtime.store.task_history(task_id)]
        if "task.stopped" in kinds:
            assert status == 200, envelope
            task = envelope["data"]
            assert (task["status"], task["error"]) == (3, "stopped by user")
        else:
            assert (status, envelope["code"]) == (404, 40401)


async def test_an_integer_of_thousands_of_digits_is_named_as_such(client, video):
    data = b'{"script_name": "post", "min_interval": ' + b"9" * 5000 + b"}"
    status, envelope = await call(client, "POST", "/api/v1/task", data=data)
    assert (status, envelope["code"]) == (400, 40001)
    assert "integer too large to store" in envelope["message"]


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("POST", "/api/v1/task/stats", "GET, HEAD"),
        ("PUT", "/api/v1/task/stats", "GET, HEAD"),
        ("GET", "/api/v1/task/retry-all", "POST"),
        ("GET", "/api/v1/task/batch", "DELETE"),
        ("PUT", "/api/v1/task/7", "DELETE, GET, HEAD"),
    ],
)
async def test_405_allows_only_the_methods_really_served(client, method, path, allowed):
    response = await client.open(path, method=method)
    assert response.status_code == 405
    assert response.headers["Allow"] == allowed
    assert allowed in json.loads(await response.get_data())["message"]
