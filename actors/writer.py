"""The writer actor: the only task that writes the store.

Group commit. Callers `submit` a command and wait; the writer takes every
command waiting on its channel (up to `max_batch`), hands the batch to
`Store.apply` in ONE worker-thread call, which decides, appends, projects
and fsyncs in one transaction, and only then answers each caller. Under
load many callers share one fsync, which is what makes durable writes
fast; alone, a command pays one fsync. Rejected: a commit per command
(one fsync each caps us at a few thousand writes/s) and answering before
the commit (an acknowledged write could then be lost).

After each commit the writer notifies listeners (the dispatcher, event
streams) that the log grew; they read what is new from the store by
`seq`, so a slow listener misses nothing and needs no buffer of its own.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import trio

from phonefarm.core.clock import Clock
from phonefarm.core.commands import Command
from phonefarm.core.errors import PhonefarmError, StoreError
from phonefarm.core.events import Recorded
from phonefarm.core.store import Outcome, Store

log = logging.getLogger(__name__)

DEFAULT_MAX_BATCH = 1000
DEFAULT_QUEUE_SIZE = 10_000


class _Pending:
    __slots__ = ("commands", "done", "outcomes")

    def __init__(self, commands: Sequence[Command]) -> None:
        self.commands = commands
        self.done = trio.Event()
        self.outcomes: list[Outcome] | BaseException | None = None


class Writer:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        *,
        max_batch: int = DEFAULT_MAX_BATCH,
        queue_size: int = DEFAULT_QUEUE_SIZE,
        commit_in_thread: bool = True,
    ) -> None:
        """`commit_in_thread=False` commits on the event loop, blocking it.

        Only for tests under MockClock: its autojump takes a task waiting on
        a worker thread for an idle one and jumps the clock to the next
        deadline, often a test's own timeout, while the fsync runs.
        """
        self._store = store
        self._commit_in_thread = commit_in_thread
        self._clock = clock
        self._max_batch = max_batch
        self._send, self._receive = trio.open_memory_channel[_Pending](queue_size)
        self._listeners: list[Callable[[], None]] = []
        self._committed = trio.Event()
        self.last_seq = store.last_seq()
        self.commits = 0

    def add_listener(self, listener: Callable[[], None]) -> None:
        """Call `listener()` (synchronously, briefly) after every commit."""
        self._listeners.append(listener)

    async def submit(self, command: Command) -> list[Recorded]:
        """Commit one command; return its events once they are on disk.

        Raises the command's `RequestError` if it was refused, `StoreError`
        if the store could not commit. Cancelling the caller does not undo a
        command the writer has already taken.
        """
        (outcome,) = await self.submit_all([command])
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    async def submit_all(self, commands: Sequence[Command]) -> list[Outcome]:
        """Commit several commands in one transaction; one outcome each."""
        pending = _Pending(commands)
        await self._send.send(pending)
        await pending.done.wait()
        if isinstance(pending.outcomes, BaseException):
            raise pending.outcomes
        assert pending.outcomes is not None
        return pending.outcomes

    async def wait_for_commit(self, after_seq: int) -> int:
        """Wait until the log holds an event after `after_seq`; return the last seq."""
        while self.last_seq <= after_seq:
            await self._committed.wait()
        return self.last_seq

    async def run(
        self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        task_status.started()
        async for first in self._receive:
            batch = [first]
            while len(batch) < self._max_batch:
                try:
                    batch.append(self._receive.receive_nowait())
                except trio.WouldBlock:
                    break
            await self._commit(batch)

    async def _commit(self, batch: list[_Pending]) -> None:
        commands = [command for pending in batch for command in pending.commands]
        # The worker thread cannot be cancelled, and is not abandoned: a
        # shutdown waits for the commit in flight, so its callers are
        # answered with what really happened.
        try:
            if self._commit_in_thread:
                outcomes = await trio.to_thread.run_sync(
                    self._store.apply, commands, self._clock.now_us()
                )
            else:
                outcomes = self._store.apply(commands, self._clock.now_us())
        except PhonefarmError as exc:
            log.error("commit failed commands=%d error=%s", len(commands), exc)
            self._answer_all(batch, exc)
            return
        except Exception as exc:
            log.exception("commit crashed commands=%d", len(commands))
            self._answer_all(batch, StoreError(f"internal error: {type(exc).__name__}"))
            return
        offset = 0
        for pending in batch:
            pending.outcomes = outcomes[offset : offset + len(pending.commands)]
            offset += len(pending.commands)
            pending.done.set()
        self.commits += 1
        self._notify(outcomes)

    def _answer_all(self, batch: list[_Pending], error: BaseException) -> None:
        for pending in batch:
            pending.outcomes = error
            pending.done.set()

    def _notify(self, outcomes: list[Outcome]) -> None:
        for outcome in reversed(outcomes):
            if isinstance(outcome, list) and outcome:
                self.last_seq = outcome[-1].seq
                break
        else:
            return
        self._committed.set()
        self._committed = trio.Event()
        for listener in self._listeners:
            listener()
