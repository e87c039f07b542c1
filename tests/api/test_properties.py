"""Generated malformed requests: a 4xx envelope, never a 5xx, and no state change.

Hypothesis drives synchronous test functions, and the app lives in a trio
loop. Each test here is a trio test that owns one runtime and one client
for all its examples: it runs the Hypothesis function in a worker thread
(`trio.to_thread.run_sync`), and each example sends its request back into
the loop with `trio.from_thread.run`. Nothing is restarted between
examples, so a few hundred of them take a second or two, and a request
that changed state would show in the next example's check.
"""

import json
import string
from functools import partial

import trio
from api_support import create, follow_body
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from phonefarm.core.script_configs import SCRIPTS
from phonefarm.http.params import MAX_ID

KNOWN_SERIALS = ("dev-1", "dev-2", "dev-3")
QUERY_NAMES = ("status", "serial", "script_name", "source", "page", "page_size")
SETTINGS = settings(
    max_examples=200,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


def is_minutes(value) -> bool:
    return type(value) is int and 0 <= value <= 1440


def is_start_time(value) -> bool:
    if value is None or value == "":
        return True
    if not isinstance(value, str) or len(value) != 5 or value[2] != ":":
        return False
    digits = value[:2] + value[3:]
    if not all(c in string.digits for c in digits):
        return False
    return int(value[:2]) < 24 and int(value[3:]) < 60


# Each mutation makes a valid body invalid on its own, and says which code
# the contract's order of checks answers when it is the first one hit.
FIELD_MUTATIONS = {
    "serials": st.one_of(
        json_values.filter(lambda v: v is not None and not isinstance(v, list)),
        st.lists(json_values.filter(lambda v: not isinstance(v, str)), min_size=1),
        st.lists(
            st.text(max_size=20).filter(lambda s: s not in KNOWN_SERIALS), min_size=1
        ),
    ),
    "usernames": json_values.filter(lambda v: v is not None and v != []),
    "start_time": json_values.filter(lambda v: not is_start_time(v)),
    "min_interval": json_values.filter(lambda v: not is_minutes(v)),
    "max_interval": json_values.filter(lambda v: not is_minutes(v)),
    "enable_multi_account": json_values.filter(lambda v: not isinstance(v, bool)),
    "script_config": st.one_of(
        json_values.filter(lambda v: not isinstance(v, dict)),
        st.fixed_dictionaries(
            {
                "target_users": json_values.filter(
                    lambda v: v is not None and not isinstance(v, list)
                )
            }
        ),
    ),
}


@st.composite
def invalid_bodies(draw) -> tuple[bytes, set[int]]:
    """(request body, the codes it may be answered with)."""
    kind = draw(st.sampled_from(["not an object", "bytes", "script_name", "fields"]))
    if kind == "not an object":
        value = draw(json_values.filter(lambda v: not isinstance(v, dict)))
        return json.dumps(value).encode(), {40001}
    if kind == "bytes":
        return draw(st.binary(max_size=64)), {40001, 40002, 40003}

    body = follow_body()
    names = draw(
        st.lists(st.sampled_from(sorted(FIELD_MUTATIONS)), min_size=1, unique=True)
    )
    for name in names:
        body[name] = draw(FIELD_MUTATIONS[name])
    if kind == "fields":
        return json.dumps(body).encode(), {40001}
    choice = draw(st.sampled_from(["absent", "not a name", "unsupported"]))
    if choice == "absent":
        del body["script_name"]
        expected = 40002
    elif choice == "not a name":
        body["script_name"] = draw(
            json_values.filter(lambda v: v is not None and not isinstance(v, str))
            | st.just("")
        )
        expected = 40002
    else:
        body["script_name"] = draw(
            st.text(min_size=1).filter(lambda s: s not in SCRIPTS)
        )
        expected = 40003
    return json.dumps(body).encode(), {expected}


def snapshot(runtime) -> tuple[dict, int]:
    return runtime.store.stats(), runtime.store.last_seq()


async def send(client, method, path, **kwargs) -> tuple[int, str, bytes]:
    response = await client.open(path, method=method, **kwargs)
    return response.status_code, response.content_type, await response.get_data()


def decode_envelope(status, content_type, body) -> dict:
    assert status < 500, body[:300]
    assert content_type == "application/json"
    envelope = json.loads(body)
    assert set(envelope) == {"code", "message", "data"}
    return envelope


async def test_malformed_create_bodies_are_refused_and_change_nothing(client, runtime):
    before = snapshot(runtime)

    @SETTINGS
    @given(
        case=invalid_bodies(),
        content_type=st.sampled_from(["application/json", "text/plain"]),
    )
    def check(case, content_type):
        body, codes = case
        headers = {"Content-Type": content_type}
        status, media, answer = trio.from_thread.run(
            partial(send, client, "POST", "/api/v1/task", data=body, headers=headers)
        )
        envelope = decode_envelope(status, media, answer)
        assert status == 400, envelope
        assert envelope["code"] in codes, (body, envelope)
        assert envelope["data"] is None and envelope["message"]
        assert trio.from_thread.run_sync(snapshot, runtime) == before
        examples.append(status)

    examples: list[int] = []
    await trio.to_thread.run_sync(check)
    assert len(examples) >= SETTINGS.max_examples


def query_is_valid(name: str, value: str) -> bool:
    if value == "" or name in ("serial", "script_name"):
        return True
    if name == "source":
        return value in ("ui", "api")
    if not value.isascii() or not value.isdigit() or int(value) > MAX_ID:
        return False
    return int(value) <= 3 if name == "status" else int(value) >= 1


query_values = st.one_of(
    st.text(max_size=8),
    st.integers(-5, 10).map(str),
    st.sampled_from(["ui", "api", "1.0", "2.5", "1e3", "0x1", "١", str(MAX_ID + 1)]),
)


async def test_any_task_list_query_is_answered_or_refused_naming_the_field(
    client, runtime
):
    await create(client, follow_body(["dev-1", "dev-2"], ["a", "b"]))
    before = snapshot(runtime)

    @SETTINGS
    @given(query=st.dictionaries(st.sampled_from(QUERY_NAMES), query_values))
    def check(query):
        status, media, answer = trio.from_thread.run(
            partial(send, client, "GET", "/api/v1/task", query_string=query)
        )
        envelope = decode_envelope(status, media, answer)
        invalid = [
            name for name, value in query.items() if not query_is_valid(name, value)
        ]
        if invalid:
            assert (status, envelope["code"]) == (400, 40001), (query, envelope)
            assert envelope["message"].split(":")[0] in invalid, (query, envelope)
        else:
            assert (status, envelope["code"]) == (200, 0), (query, envelope)
            data = envelope["data"]
            assert 0 <= len(data["tasks"]) <= data["page_size"] <= 100
            assert 0 <= data["total"] <= 4
        assert trio.from_thread.run_sync(snapshot, runtime) == before
        examples.append(status)

    examples: list[int] = []
    await trio.to_thread.run_sync(check)
    assert len(examples) >= SETTINGS.max_examples
