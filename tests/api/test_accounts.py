"""The account registry and the modes that read it: usernames, multi-account."""

import pytest
from api_support import call, concurrently, create, follow_body, post_body


async def add(client, serial, username, platform=None):
    body = {"serial": serial, "username": username}
    if platform:
        body["platform"] = platform
    return await call(client, "POST", "/api/v1/account", body)


@pytest.fixture
async def accounts(client):
    for serial, username, platform in [
        ("dev-1", "@Alice", None),
        ("dev-1", "bob", "instagram"),
        ("dev-2", "carol", "tiktok"),
    ]:
        status, envelope = await add(client, serial, username, platform)
        assert (status, envelope["code"]) == (200, 0), envelope
    return client


async def test_an_account_is_added_listed_and_shown_on_its_phone(accounts):
    status, envelope = await call(accounts, "GET", "/api/v1/account")
    assert status == 200
    assert envelope["data"] == {
        "accounts": [
            {"username": "Alice", "serial": "dev-1", "platform": "tiktok"},
            {"username": "bob", "serial": "dev-1", "platform": "instagram"},
            {"username": "carol", "serial": "dev-2", "platform": "tiktok"},
        ],
        "total": 3,
    }
    _, devices = await call(accounts, "GET", "/api/v1/device")
    by_serial = {d["serial"]: d["accounts"] for d in devices["data"]["devices"]}
    assert by_serial == {"dev-1": ["Alice", "bob"], "dev-2": ["carol"], "dev-3": []}
    _, one_phone = await call(
        accounts, "GET", "/api/v1/account", query={"serial": "dev-2"}
    )
    assert [a["username"] for a in one_phone["data"]["accounts"]] == ["carol"]


async def test_adding_an_account_twice_is_a_conflict_in_any_spelling(accounts):
    status, envelope = await add(accounts, "dev-3", "ALICE", "instagram")
    assert (status, envelope["code"]) == (409, 40901)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"username": "dave"}, "serial"),
        ({"serial": "dev-1"}, "username"),
        ({"serial": "ghost", "username": "dave"}, "serial"),
        ({"serial": "dev-1", "username": "not a name"}, "username"),
        ({"serial": "dev-1", "username": 5}, "username"),
        ({"serial": "dev-1", "username": "dave", "platform": "youtube"}, "platform"),
        ({"serial": ["dev-1"], "username": "dave"}, "serial"),
    ],
)
async def test_a_bad_account_is_40001_naming_the_field(client, body, field):
    status, envelope = await call(client, "POST", "/api/v1/account", body)
    assert (status, envelope["code"]) == (400, 40001)
    assert field in envelope["message"]
    _, listed = await call(client, "GET", "/api/v1/account")
    assert listed["data"]["total"] == 0


async def test_delete_an_account_by_any_spelling(accounts):
    status, envelope = await call(accounts, "DELETE", "/api/v1/account/@ALICE")
    assert (status, envelope["data"]) == (200, {"deleted": "Alice"})
    status, envelope = await call(accounts, "DELETE", "/api/v1/account/alice")
    assert (status, envelope["code"]) == (404, 40401)


async def test_username_mode_runs_each_task_on_its_accounts_phone(accounts, video):
    body = post_body(video, serials=(), usernames=["@alice", "CAROL"])
    del body["serials"]
    ids = await create(accounts, body)
    tasks = [(await call(accounts, "GET", f"/api/v1/task/{i}"))[1]["data"] for i in ids]
    assert [(t["serial"], t["username"]) for t in tasks] == [
        ("dev-1", "Alice"),
        ("dev-2", "carol"),
    ]


async def test_username_mode_names_unknown_usernames(accounts, video):
    body = post_body(video, usernames=["alice", "@ghost"])
    del body["serials"]
    status, envelope = await call(accounts, "POST", "/api/v1/task", body)
    assert (status, envelope["code"]) == (400, 40001)
    assert "ghost" in envelope["message"]


async def test_multi_account_makes_a_task_per_account(accounts):
    body = follow_body(("dev-1",), ("x1", "x2"), enable_multi_account=True)
    ids = await create(accounts, body)
    tasks = [(await call(accounts, "GET", f"/api/v1/task/{i}"))[1]["data"] for i in ids]
    assert [(t["username"], t["script_config"]["target_username"]) for t in tasks] == [
        ("Alice", "x1"),
        ("Alice", "x2"),
        ("bob", "x1"),
        ("bob", "x2"),
    ]


async def test_removing_an_account_leaves_its_tasks(accounts, video):
    body = post_body(video, usernames=["bob"])
    del body["serials"]
    (task_id,) = await create(accounts, body)
    await call(accounts, "DELETE", "/api/v1/account/bob")
    _, task = await call(accounts, "GET", f"/api/v1/task/{task_id}")
    assert (task["data"]["serial"], task["data"]["username"]) == ("dev-1", "bob")


async def test_an_add_racing_a_delete_answers_what_it_committed(client):
    for n in range(20):
        name = f"race{n}"
        (status, envelope), _ = await concurrently(
            (client, "POST", "/api/v1/account", {"serial": "dev-1", "username": name}),
            (client, "DELETE", f"/api/v1/account/{name}"),
        )
        assert (status, envelope["data"]["username"]) == (200, name), envelope
