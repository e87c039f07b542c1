"""API.md, rule by rule, through the in-process app.

`test_routes.py` covers the task endpoints' main behaviour; this file
walks every endpoint against the served OpenAPI document, and pins the
contract's remaining rules: the checks before the body (token,
`--disable-api`, route, size), `/health`, `/metrics`, `/scripts`,
`/openapi.json`, and the issue's list of bad inputs.
"""

import json
import random

import jsonschema_rs
import msgspec
import pytest
import trio
from api_support import MAX_BODY, call, create, follow_body, post_body

from phonefarm.core.commands import CompleteTask, StartTask
from phonefarm.core.script_configs import SCRIPTS
from phonefarm.core.task_request import TaskRequestFields
from phonefarm.http.app import create_app
from phonefarm.http.openapi import (
    ERROR_CODES,
    declared_operations,
    served_operations,
    undocumented_routes,
)
from phonefarm.http.task_json import TaskObject

TOKEN = "s3cret-token"
BIG = str(MAX_BODY + 1)


async def stats(client) -> dict:
    _, envelope = await call(client, "GET", "/api/v1/task/stats")
    return envelope["data"]


async def raw(client, method, path, **kwargs):
    """(status, content type, body bytes) without assuming an envelope."""
    response = await client.open(path, method=method, **kwargs)
    return response.status_code, response.content_type, await response.get_data()


def assert_error(result, code, http_status, *words):
    status, envelope = result
    assert (status, envelope["code"]) == (http_status, code), envelope
    assert envelope["data"] is None
    for word in words:
        assert word in envelope["message"], envelope["message"]


# -- the document, and every endpoint against it ---------------------------------


class Document:
    """The served OpenAPI document, checking answers against what it says."""

    def __init__(self, document: dict) -> None:
        self.document = document

    def validate(self, method, template, status, content_type, body) -> None:
        entry = self.document["paths"]["/api/v1" + template][method.lower()]
        response = entry["responses"][str(status)]
        ((media_type, media),) = response["content"].items()
        assert content_type.split(";")[0] == media_type
        is_json = media_type == "application/json"
        instance = json.loads(body) if is_json else body.decode()
        schema = {**media["schema"], "components": self.document["components"]}
        validator = jsonschema_rs.Draft202012Validator(schema)
        errors = [e.message for e in validator.iter_errors(instance)]
        assert not errors, (method, template, status, errors)


@pytest.fixture
async def document(client):
    status, content_type, body = await raw(client, "GET", "/api/v1/openapi.json")
    assert (status, content_type) == (200, "application/json")
    return Document(json.loads(body))


async def test_every_endpoint_answers_what_the_document_says(
    client, runtime, document, video
):
    accounts = {"serial": "dev-2", "username": "@shop_one", "platform": "tiktok"}
    walk = [
        ("GET", "/health", "/health", None, 200),
        ("GET", "/metrics", "/metrics", None, 200),
        ("GET", "/scripts", "/scripts", None, 200),
        ("GET", "/license/check", "/license/check", None, 200),
        ("GET", "/device", "/device", None, 200),
        ("POST", "/account", "/account", accounts, 200),
        ("POST", "/account", "/account", accounts, 409),
        ("GET", "/account", "/account", None, 200),
        ("POST", "/task", "/task", post_body(video, ["dev-1", "dev-2"]), 200),
        ("POST", "/task", "/task", {"serials": ["dev-1"]}, 400),
        ("POST", "/task", "/task?dry_run=true", follow_body(), 200),
        ("GET", "/task", "/task?page_size=1", None, 200),
        ("GET", "/task", "/task?page=0", None, 400),
        ("GET", "/task/stats", "/task/stats", None, 200),
        ("GET", "/task/{task_id}", "/task/1", None, 200),
        ("GET", "/task/{task_id}", "/task/77", None, 404),
        ("POST", "/task/{task_id}/stop", "/task/1/stop", None, 200),
        ("POST", "/task/{task_id}/retry", "/task/1/retry", None, 200),
        ("POST", "/task/{task_id}/retry", "/task/1/retry", None, 409),
        ("POST", "/task/{task_id}/stop", "/task/2/stop", None, 200),
        ("POST", "/task/retry-all", "/task/retry-all", None, 200),
        ("DELETE", "/task/{task_id}", "/task/1", None, 200),
        ("DELETE", "/task/{task_id}", "/task/abc", None, 400),
        ("DELETE", "/task/batch", "/task/batch", {"task_ids": [2, 5]}, 200),
        ("DELETE", "/account/{username}", "/account/shop_one", None, 200),
        ("DELETE", "/account/{username}", "/account/shop_one", None, 404),
        ("GET", "/events", "/events?after=2&limit=3", None, 200),
        ("GET", "/events", "/events?limit=0", None, 400),
        ("GET", "/task/{task_id}/events", "/task/1/events", None, 200),
        ("GET", "/task/{task_id}/events", "/task/99/events", None, 404),
        ("GET", "/openapi.json", "/openapi.json", None, 200),
    ]
    visited = set()
    for method, template, path, body, expected in walk:
        kwargs = {} if body is None else {"json": body}
        status, content_type, answer = await raw(
            client, method, "/api/v1" + path, **kwargs
        )
        assert status == expected, (method, path, answer[:300])
        document.validate(method, template, status, content_type, answer)
        visited.add((method, template))

    # A stream never ends; tests/api/test_events.py reads it.
    served = {(method, path) for method, path, _ in served_operations(client.app)}
    assert served - visited == {("GET", "/events/stream")}


async def test_every_served_route_is_declared_and_every_declaration_served(client):
    assert undocumented_routes(client.app) == []
    served = {(method, path) for method, path, _ in served_operations(client.app)}
    assert set(declared_operations()) == served


async def test_the_document_is_openapi_3_1_made_of_valid_json_schemas(document):
    doc = document.document
    assert doc["openapi"] == "3.1.0"
    assert "security" not in doc  # no token on this app
    for name, schema in doc["components"]["schemas"].items():
        assert jsonschema_rs.meta.is_valid(schema), name
    for path, methods in doc["paths"].items():
        assert path.startswith("/api/v1/")
        for method, entry in methods.items():
            assert set(entry["responses"]) >= {"200", "500"}, (method, path)
            for status, response in entry["responses"].items():
                if status == "200":
                    continue
                codes = response["content"]["application/json"]["schema"]["properties"][
                    "code"
                ]
                for code in codes.get("enum", [codes.get("const")]):
                    assert ERROR_CODES[code][0] == int(status)


async def test_the_document_is_generated_from_the_validating_types(document):
    doc = document.document
    components = doc["components"]["schemas"]
    expected, expected_components = msgspec.json.schema_components(
        [TaskRequestFields, TaskObject, *(d.config_type for d in SCRIPTS.values())],
        ref_template="#/components/schemas/{name}",
    )
    for name, schema in expected_components.items():
        assert components[name] == schema, name
    body = doc["paths"]["/api/v1/task"]["post"]["requestBody"]["content"]
    schema = body["application/json"]["schema"]
    assert schema["allOf"][0] == expected[0]
    branches = schema["allOf"][1]["oneOf"]
    assert [b["properties"]["script_name"]["const"] for b in branches] == list(SCRIPTS)
    task = doc["paths"]["/api/v1/task/{task_id}"]["get"]["responses"]["200"]
    data = task["content"]["application/json"]["schema"]["properties"]["data"]
    assert data == expected[1]
    assert set(components["TaskObject"]["properties"]) == set(
        TaskObject.__struct_fields__
    )


async def test_a_token_app_documents_bearer_security(runtime):
    app = create_app(runtime, token=TOKEN)
    async with app.test_app() as test_app:
        client = test_app.test_client()
        headers = {"Authorization": f"Bearer {TOKEN}"}
        _, _, body = await raw(client, "GET", "/api/v1/openapi.json", headers=headers)
    doc = json.loads(body)
    assert doc["security"] == [{"bearerToken": []}]
    scheme = doc["components"]["securitySchemes"]["bearerToken"]
    assert scheme == {"type": "http", "scheme": "bearer"}
    responses = doc["paths"]["/api/v1/health"]["get"]["responses"]
    assert "401" in responses and "403" not in responses


# -- health, metrics, scripts -----------------------------------------------------


async def test_health_says_ok_and_the_last_seq(client, runtime):
    status, envelope = await call(client, "GET", "/api/v1/health")
    assert status == 200
    assert envelope["data"]["status"] == "ok"
    assert envelope["data"]["last_seq"] == runtime.store.last_seq() > 0


def parse_metrics(text: str) -> dict[str, float]:
    samples = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            samples[name] = float(value)
    return samples


async def test_metrics_count_tasks_devices_and_commits(client, runtime, video):
    await create(client, post_body(video, ["dev-1", "dev-2", "dev-3"]))
    await call(client, "POST", "/api/v1/task/3/stop")
    await runtime.writer.submit(StartTask(task_id=2, serial="dev-2"))
    await runtime.writer.submit(CompleteTask(task_id=2, attempt=1))

    status, content_type, body = await raw(client, "GET", "/api/v1/metrics")
    assert status == 200
    assert content_type == "text/plain; version=0.0.4; charset=utf-8"
    text = body.decode()
    assert "# TYPE phonefarm_writer_commits_total counter" in text
    samples = parse_metrics(text)
    assert samples['phonefarm_tasks{status="pending"}'] == 1
    assert samples['phonefarm_tasks{status="running"}'] == 0
    assert samples['phonefarm_tasks{status="completed"}'] == 1
    assert samples['phonefarm_tasks{status="failed"}'] == 1
    assert samples["phonefarm_devices"] == 3
    assert samples["phonefarm_devices_online"] == 3
    assert samples["phonefarm_writer_commits_total"] == runtime.writer.commits > 0
    assert samples["phonefarm_event_log_last_seq"] == runtime.store.last_seq()


async def test_scripts_answers_each_schema_and_its_defaults(client):
    status, envelope = await call(client, "GET", "/api/v1/scripts")
    assert status == 200
    scripts = envelope["data"]["scripts"]
    assert [s["name"] for s in scripts] == list(SCRIPTS) == ["post", "follow"]
    for script in scripts:
        definition = SCRIPTS[script["name"]]
        assert script["config_schema"] == definition.json_schema()
        assert script["defaults"] == definition.defaults()
    post = scripts[0]["defaults"]
    assert (post["upload_wait_time"], post["post_way"], post["add_sound"]) == (
        30,
        "share",
        "-1",
    )


# -- the checks before the body: token, --disable-api, route, size ---------------


@pytest.fixture
async def guarded(runtime):
    """A client of an app with a token and the API disabled."""
    app = create_app(runtime, token=TOKEN, disable_api=True)
    async with app.test_app() as test_app:
        yield test_app.test_client()


@pytest.fixture
async def with_token(runtime):
    app = create_app(runtime, token=TOKEN)
    async with app.test_app() as test_app:
        yield test_app.test_client()


EVERY_KIND_OF_REQUEST = [
    ("GET", "/api/v1/health", {}),
    ("GET", "/api/v1/metrics", {}),
    ("GET", "/api/v1/openapi.json", {}),
    ("GET", "/api/v1/license/check", {}),
    ("POST", "/api/v1/task", {"json": {"script_name": "nope"}}),
    ("GET", "/api/v1/nothing", {}),
    ("PUT", "/api/v1/task", {}),
    ("POST", "/api/v1/task", {"headers": {"Content-Length": BIG}}),
]


@pytest.mark.parametrize(("method", "path", "kwargs"), EVERY_KIND_OF_REQUEST)
@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer wrong", f"Basic {TOKEN}", f"Bearer {TOKEN}x", "Bearer s3cret"],
)
async def test_without_the_token_everything_is_40101_first(
    guarded, method, path, kwargs, authorization
):
    kwargs = dict(kwargs)
    headers = dict(kwargs.pop("headers", {}))
    if authorization is not None:
        headers["Authorization"] = authorization
    response = await guarded.open(path, method=method, headers=headers, **kwargs)
    envelope = json.loads(await response.get_data())
    assert (response.status_code, envelope["code"]) == (401, 40101)
    assert envelope["data"] is None and "token" in envelope["message"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER"])
async def test_the_right_token_passes_in_any_case_of_the_scheme(with_token, scheme):
    headers = {"Authorization": f"{scheme} {TOKEN}"}
    result = await call(with_token, "GET", "/api/v1/task/stats", headers=headers)
    assert result[0] == 200


@pytest.mark.parametrize(("method", "path", "kwargs"), EVERY_KIND_OF_REQUEST)
async def test_disable_api_is_40301_for_all_but_health_and_metrics(
    guarded, method, path, kwargs
):
    kwargs = dict(kwargs)
    headers = {**kwargs.pop("headers", {}), "Authorization": f"Bearer {TOKEN}"}
    response = await guarded.open(path, method=method, headers=headers, **kwargs)
    if path in ("/api/v1/health", "/api/v1/metrics"):
        assert response.status_code == 200
    else:
        envelope = json.loads(await response.get_data())
        assert (response.status_code, envelope["code"]) == (403, 40301)
        assert envelope["data"] is None and "disabled" in envelope["message"]


async def test_disable_api_answers_license_check_as_tikmatrix_starter_does(runtime):
    app = create_app(runtime, disable_api=True)
    async with app.test_app() as test_app:
        client = test_app.test_client()
        result = await call(client, "GET", "/api/v1/license/check")
        assert_error(result, 40301, 403)
        _, health = await call(client, "GET", "/api/v1/health")
        assert health["data"]["status"] == "ok"


async def test_the_route_is_checked_before_the_body_size(client):
    big = {"headers": {"Content-Length": BIG}, "data": b"{}"}
    status, _, body = await raw(client, "GET", "/api/v1/nothing", **big)
    assert (status, json.loads(body)["code"]) == (404, 40401)
    status, _, body = await raw(client, "PATCH", "/api/v1/task", **big)
    assert (status, json.loads(body)["code"]) == (405, 40001)
    status, _, body = await raw(client, "GET", "/api/v1/task", **big)
    assert (status, json.loads(body)["code"]) == (413, 41301)


async def test_max_body_bytes_sets_the_limit(runtime):
    app = create_app(runtime, max_body_bytes=100)
    async with app.test_app() as test_app:
        client = test_app.test_client()
        body = {"script_name": "nope", "pad": "x" * 100}
        result = await call(client, "POST", "/api/v1/task", body)
        assert_error(result, 41301, 413, "100 bytes")
        result = await call(client, "POST", "/api/v1/task", {"script_name": "nope"})
        assert_error(result, 40003, 400)


@pytest.mark.parametrize("token", ["", "two words", "naïve", "tab\there"])
async def test_a_token_no_client_could_send_is_refused(runtime, token):
    with pytest.raises(ValueError, match="token"):
        create_app(runtime, token=token)


# -- bad inputs to POST /task -----------------------------------------------------


@pytest.mark.parametrize(
    "start_time",
    ["24:00", "7:5", "12:60", "-1:00", "12:00:00", " 07:05", "０７:０５", 730, True],
)
async def test_a_bad_start_time_is_40001(client, start_time):
    result = await call(
        client, "POST", "/api/v1/task", follow_body(start_time=start_time)
    )
    assert_error(result, 40001, 400, "start_time")
    assert (await stats(client))["total"] == 0


@pytest.mark.parametrize("start_time", ["", None])
async def test_an_empty_or_null_start_time_is_as_soon_as_possible(client, start_time):
    (task_id,) = await create(client, follow_body(start_time=start_time))
    _, envelope = await call(client, "GET", f"/api/v1/task/{task_id}")
    task = envelope["data"]
    assert task["start_time"] is None
    assert task["scheduled_at"] == task["created_at"]


@pytest.mark.parametrize(
    "data",
    [b"null", b"[]", b'"post"', b"42", b"", b'{"script_name": "po', b"\xc3\x28"],
)
@pytest.mark.parametrize("content_type", ["application/json", "text/plain"])
async def test_a_body_that_is_no_json_object_is_40001(client, data, content_type):
    headers = {"Content-Type": content_type}
    result = await call(client, "POST", "/api/v1/task", data=data, headers=headers)
    assert_error(result, 40001, 400, "body")
    assert (await stats(client))["total"] == 0


async def test_an_empty_object_is_40002(client):
    result = await call(client, "POST", "/api/v1/task", {})
    assert_error(result, 40002, 400, "script_name")


NEITHER = object()


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"serials": ["dev-1"], "usernames": ["@shop"]}, "not both"),
        ({"serials": NEITHER}, "serials or usernames"),
        ({"serials": "dev-1"}, "serials: expected array"),
        ({"serials": [1234]}, "serials[0]"),
        ({"serials": ["dev-1", None]}, "serials[1]"),
        ({"min_interval": 5.0, "max_interval": 9}, "min_interval"),
        ({"min_interval": "5", "max_interval": 9}, "min_interval"),
        ({"min_interval": True, "max_interval": 9}, "min_interval"),
        ({"min_interval": -1}, "min_interval"),
        ({"min_interval": 2**63}, "min_interval"),
        ({"min_interval": 4, "max_interval": 3}, "max_interval"),
        ({"enable_multi_account": "yes"}, "enable_multi_account"),
        ({"script_config": []}, "script_config"),
        ({"script_config": {"target_users": "alice"}}, "script_config.target_users"),
        ({"script_config": {"target_users": [], "x": 2**64}}, "script_config.x"),
        ({"script_config": {"target_user": "a", "access_method": "url"}}, "direct"),
    ],
)
async def test_bad_fields_are_40001_naming_them(client, fields, named):
    body = {**follow_body(), **fields}
    if body["serials"] is NEITHER:
        del body["serials"]
    result = await call(client, "POST", "/api/v1/task", body)
    assert_error(result, 40001, 400, named)
    assert (await stats(client))["total"] == 0


@pytest.mark.parametrize(
    ("config", "named"),
    [
        ({"upload_wait_time": -1}, "script_config.upload_wait_time"),
        ({"upload_wait_time": 30.0}, "script_config.upload_wait_time"),
        ({"post_way": "tiktok"}, '"share"'),
        ({"origin_sound_volume": 101}, "script_config.origin_sound_volume"),
        ({"content_type": 2}, "script_config.content_type"),
        ({"post_way": "useSound"}, "script_config.sound_name"),
    ],
)
async def test_bad_post_config_values_are_40001_naming_them(
    client, video, config, named
):
    body = post_body(video)
    body["script_config"].update(config)
    result = await call(client, "POST", "/api/v1/task", body)
    assert_error(result, 40001, 400, named)


async def test_duplicate_serials_count_once(client):
    assert await create(client, follow_body(["dev-1", "dev-1"])) == [1]


# -- lists ------------------------------------------------------------------------


@pytest.mark.parametrize("page_size", ["0", "-1", "abc", "2.5"])
async def test_a_bad_page_size_is_40001(client, page_size):
    result = await call(client, "GET", "/api/v1/task", query={"page_size": page_size})
    assert_error(result, 40001, 400, "page_size")


async def test_a_huge_page_size_is_capped_and_a_far_page_is_empty(client):
    await create(client, follow_body(targets=["a", "b", "c"]))
    query = {"page_size": "1000000"}
    _, envelope = await call(client, "GET", "/api/v1/task", query=query)
    assert envelope["data"]["page_size"] == 100
    assert len(envelope["data"]["tasks"]) == 3
    _, envelope = await call(client, "GET", "/api/v1/task", query={"page": "99999"})
    data = envelope["data"]
    assert (data["tasks"], data["total"], data["page"]) == ([], 3, 99999)
    result = await call(client, "GET", "/api/v1/task", query={"page": "0"})
    assert_error(result, 40001, 400, "page")


# -- batch delete, retry-all ------------------------------------------------------


@pytest.fixture
async def two_tasks(client):
    return await create(client, follow_body(targets=["a", "b"]))


@pytest.mark.parametrize(
    ("ids", "answer"),
    [
        (lambda a, b: [a, b, 999999], {"deleted_count": 2, "not_found": [999999]}),
        (lambda a, b: [a, a], {"deleted_count": 1, "not_found": []}),
        (lambda a, b: [], {"deleted_count": 0, "not_found": []}),
    ],
)
async def test_batch_delete_counts_what_it_deleted(client, two_tasks, ids, answer):
    body = {"task_ids": ids(*two_tasks)}
    status, envelope = await call(client, "DELETE", "/api/v1/task/batch", body)
    assert (status, envelope["data"]) == (200, answer)
    assert (await stats(client))["total"] == 2 - answer["deleted_count"]


@pytest.mark.parametrize(
    "body",
    [
        {"task_ids": ["x", 1.5, None, -1]},
        {"task_ids": [1, -1]},
        {"task_ids": "1"},
        {"task_ids": None},
        {"ids": [1]},
    ],
)
async def test_batch_delete_of_bad_ids_deletes_nothing(client, two_tasks, body):
    result = await call(client, "DELETE", "/api/v1/task/batch", body)
    assert_error(result, 40001, 400, "task_ids")
    assert (await stats(client))["total"] == 2


async def fail_all(client, count):
    """Create `count` follow tasks on dev-1 and stop each: stopped is failed."""
    targets = [f"user{n}" for n in range(count)]
    task_ids = await create(client, follow_body(targets=targets))
    for task_id in task_ids:
        status, _ = await call(client, "POST", f"/api/v1/task/{task_id}/stop")
        assert status == 200
    assert (await stats(client))["failed"] == count
    return task_ids


async def test_one_retry_all_retries_250_failed_tasks(client):
    task_ids = await fail_all(client, 250)
    status, envelope = await call(client, "POST", "/api/v1/task/retry-all")
    assert status == 200
    assert envelope["data"] == {"retried_count": 250, "task_ids": task_ids}
    counts = await stats(client)
    assert (counts["pending"], counts["failed"]) == (250, 0)
    _, page = await call(client, "GET", "/api/v1/task", query={"page_size": "100"})
    assert {t["attempts"] for t in page["data"]["tasks"]} == {2}


async def test_concurrent_retry_alls_retry_each_task_once(client):
    task_ids = await fail_all(client, 40)
    answers = []

    async def retry_all():
        answers.append(await call(client, "POST", "/api/v1/task/retry-all"))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(retry_all)
        nursery.start_soon(retry_all)

    retried = [envelope["data"]["task_ids"] for _, envelope in answers]
    assert [status for status, _ in answers] == [200, 200]
    assert sorted(retried[0] + retried[1]) == task_ids
    assert sum(envelope["data"]["retried_count"] for _, envelope in answers) == 40
    for task_id in random.Random(3).sample(task_ids, 10):
        _, envelope = await call(client, "GET", f"/api/v1/task/{task_id}")
        assert (envelope["data"]["status"], envelope["data"]["attempts"]) == (0, 2)
