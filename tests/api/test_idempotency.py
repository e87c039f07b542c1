"""`Idempotency-Key` on `POST /task`: a repeat creates nothing, a reuse conflicts."""

import trio
from api_support import call, post_body

from phonefarm.actors.runtime import RuntimeConfig, open_runtime
from phonefarm.core.rules import IDEMPOTENCY_WINDOW_US
from phonefarm.http.app import create_app


async def create_with_key(client, body, key):
    return await call(
        client, "POST", "/api/v1/task", body, headers={"Idempotency-Key": key}
    )


async def test_the_same_key_and_body_answers_the_first_tasks(client, video):
    body = post_body(video, serials=("dev-1", "dev-2"))
    _, first = await create_with_key(client, body, "k-1")
    _, again = await create_with_key(client, dict(reversed(body.items())), "k-1")
    assert first["data"] == again["data"] == {"task_ids": [1, 2], "created_count": 2}
    _, stats = await call(client, "GET", "/api/v1/task/stats")
    assert stats["data"]["total"] == 2


async def test_the_same_key_with_another_body_is_a_conflict(client, video):
    await create_with_key(client, post_body(video), "k-1")
    status, envelope = await create_with_key(
        client, post_body(video, ("dev-2",)), "k-1"
    )
    assert (status, envelope["code"]) == (409, 40901)


async def test_a_repeat_is_answered_even_when_its_material_is_gone(
    client, video, tmp_path
):
    await create_with_key(client, post_body(video), "k-1")
    (tmp_path / "video1.mp4").unlink()
    status, envelope = await create_with_key(client, post_body(video), "k-1")
    assert (status, envelope["data"]["task_ids"]) == (200, [1])


async def test_concurrent_repeats_create_once(client, video):
    answers = []

    async def send():
        answers.append((await create_with_key(client, post_body(video), "k-1"))[1])

    async with trio.open_nursery() as nursery:
        for _ in range(5):
            nursery.start_soon(send)
    assert {tuple(a["data"]["task_ids"]) for a in answers} == {(1,)}


async def test_a_key_is_free_again_after_24_hours(client, clock, video):
    await create_with_key(client, post_body(video), "k-1")
    clock._now_us += IDEMPOTENCY_WINDOW_US
    _, envelope = await create_with_key(client, post_body(video, ("dev-2",)), "k-1")
    assert envelope["data"]["task_ids"] == [2]


async def test_keys_survive_a_restart(tmp_path, video):
    for _ in range(2):
        async with open_runtime(
            RuntimeConfig(data_dir=tmp_path / "d", simulate=1)
        ) as rt:
            app = create_app(rt)
            async with app.test_app() as test_app:
                client = test_app.test_client()
                _, envelope = await create_with_key(
                    client, post_body(video, ("sim-01",)), "k-1"
                )
                assert envelope["data"]["task_ids"] == [1]


async def test_a_bad_key_is_40001(client, video):
    for key in ("", "x" * 256, "caf\u00e9"):
        status, envelope = await create_with_key(client, post_body(video), key)
        assert (status, envelope["code"]) == (400, 40001), key
        assert "Idempotency-Key" in envelope["message"]


async def test_dry_run_ignores_the_key(client, video):
    _, envelope = await call(
        client,
        "POST",
        "/api/v1/task",
        post_body(video),
        headers={"Idempotency-Key": "k-1"},
        query={"dry_run": "true"},
    )
    assert envelope["data"]["would_create"] == 1
    _, envelope = await create_with_key(client, post_body(video), "k-1")
    assert envelope["data"]["task_ids"] == [1]
