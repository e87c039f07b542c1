"""Random command sequences: live projections always equal a rebuild from the log."""

import tempfile

import hypothesis.strategies as st
from factories import MemoryState, spec
from hypothesis import HealthCheck, settings
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from phonefarm.core.commands import (
    AddAccount,
    CompleteTask,
    CreateTasks,
    DeleteTask,
    FailTask,
    IdempotencyKey,
    MarkDeviceOffline,
    MarkDeviceOnline,
    PauseDevice,
    RemoveAccount,
    RetryTask,
    StartTask,
    StopTask,
)
from phonefarm.core.errors import RequestError
from phonefarm.core.rules import decide
from phonefarm.core.store import Store
from phonefarm.core.task import TaskStatus

SERIALS = st.sampled_from(["S1", "S2", "S3"])
SCRIPTS = st.sampled_from(["post", "follow"])
USERNAMES = st.sampled_from(["alice", "@Alice", "bob", "carol"])
KEYS = st.sampled_from([None, "k1", "k2"])


class StoreMachine(RuleBasedStateMachine):
    """Drives the store and a model folded by `evolve`; they must agree."""

    def __init__(self) -> None:
        super().__init__()
        self._dir = tempfile.TemporaryDirectory()
        self.store = Store.open(self._dir.name)
        self.model = MemoryState()
        self.now_us = 1_000
        self.ids: list[int] = []

    def apply(self, *commands):
        self.now_us += 1
        outcomes = self.store.apply(list(commands), self.now_us)
        for command, outcome in zip(commands, outcomes, strict=True):
            try:
                expected = decide(self.model, command, now_us=self.now_us)
            except RequestError as exc:
                assert type(outcome) is type(exc)
                continue
            assert [r.event for r in outcome] == expected
            for record in outcome:
                self.model.record(record)

    @rule(serials=st.lists(SERIALS, min_size=1, max_size=3), script=SCRIPTS, key=KEYS)
    def create(self, serials, script, key):
        first = self.model.next_task_id()
        idempotency = key and IdempotencyKey(key, body_sha256=script)
        self.apply(CreateTasks([spec(s, script) for s in serials], idempotency))
        self.ids.extend(range(first, self.model.next_task_id()))

    @rule(serial=SERIALS, online=st.booleans())
    def plug(self, serial, online):
        if online:
            self.apply(MarkDeviceOnline(serial, "Pixel", "adb"))
        else:
            self.apply(MarkDeviceOffline(serial, "unplugged"))

    @rule(serial=SERIALS, username=USERNAMES, add=st.booleans())
    def account(self, serial, username, add):
        if add:
            self.apply(AddAccount(serial, username.removeprefix("@"), "tiktok"))
        else:
            self.apply(RemoveAccount(username))

    @rule(serial=SERIALS, pause_ms=st.integers(0, 120_000))
    def pause(self, serial, pause_ms):
        self.apply(PauseDevice(serial, 1, pause_ms))

    @precondition(lambda self: self.ids)
    @rule(data=st.data())
    def act(self, data):
        task_id = data.draw(st.sampled_from(self.ids))
        task = self.model.task(task_id)
        attempt = task.attempts if task else 1
        command = data.draw(
            st.sampled_from(
                [
                    StartTask(task_id, task.serial if task else "S1"),
                    CompleteTask(task_id, attempt),
                    FailTask(task_id, attempt, "element not found: Post button"),
                    StopTask(task_id),
                    RetryTask(task_id),
                    DeleteTask(task_id),
                ]
            )
        )
        self.apply(command)

    @invariant()
    def projections_match_the_model(self):
        stats = self.store.stats()
        tasks = list(self.model.tasks.values())
        assert stats["total"] == len(tasks)
        for status in TaskStatus:
            assert stats[status.text] == sum(t.status is status for t in tasks)

    def teardown(self):
        try:
            assert self.store.check() == []
            for task in self.model.tasks.values():
                assert self.store.task(task.id) == task
            assert self.store.devices() == sorted(
                self.model.devices.values(), key=lambda d: d.serial
            )
            assert self.store.accounts() == sorted(
                self.model.accounts.values(), key=lambda a: a.username.lower()
            )
            self.store.rebuild()
            assert self.store.check() == []
        finally:
            self.store.close()
            self._dir.cleanup()


StoreMachine.TestCase.settings = settings(
    max_examples=80,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_live_projections_equal_a_rebuild = StoreMachine.TestCase
