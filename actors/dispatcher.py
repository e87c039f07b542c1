"""The dispatcher: hands due pending tasks to idle phones, and relays stops.

It wakes whenever the log grows (the writer calls `wake` after each
commit), when a phone becomes idle, and when the next scheduled task falls
due. Each round it

1. reads the events committed since its last round and cancels the script
   of any task that was stopped or deleted while running, and
2. takes, for every idle online phone, the pending task due first on that
   phone (the store's per-serial due queue: earliest `scheduled_at`, then
   lowest id) and commits `StartTask` for all of them in one transaction,
   then hands each started task to its phone.

Intervals: before every task but a phone's first since the server
started, the phone rests for a time drawn from that task's
`[min_interval, max_interval]` minutes. The draw is made here, once, and
committed as `DevicePaused`, so the log explains every gap and a restart
keeps a pause in progress (the fleet reloads `paused_until_us`). After the
rest the phone takes whatever task is due first then.

Because `StartTask` is decided inside the writer's transaction, a task
stopped or deleted just before it would start is refused there, and is
simply not handed over.
"""

from __future__ import annotations

import math
import random

import trio

from phonefarm.actors.device import DeviceActor
from phonefarm.actors.writer import Writer
from phonefarm.core.clock import Clock
from phonefarm.core.commands import FailTask, PauseDevice, StartTask
from phonefarm.core.events import TaskDeleted, TaskStopped
from phonefarm.core.store import Store
from phonefarm.core.task import TaskStatus

_LOG_BATCH = 1000


class Dispatcher:
    def __init__(
        self,
        store: Store,
        writer: Writer,
        clock: Clock,
        actors: dict[str, DeviceActor],
        *,
        rng: random.Random | None = None,
    ) -> None:
        self._rng = rng or random.SystemRandom()
        self._store = store
        self._writer = writer
        self._clock = clock
        self._actors = actors
        self._wake = trio.Event()
        self.rounds = 0

    def wake(self) -> None:
        self._wake.set()

    async def run(
        self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        seen_seq = self._store.last_seq()
        self._writer.add_listener(self.wake)
        task_status.started()
        while True:
            # A fresh event before the round: a wake during the round is kept.
            self._wake = trio.Event()
            seen_seq = self._relay_stops(seen_seq)
            next_due_at = await self._start_due_tasks()
            self.rounds += 1
            with trio.move_on_at(next_due_at):
                await self._wake.wait()

    def _draw_pause_ms(self, task_id: int) -> int:
        task = self._store.task(task_id)
        if task is None or task.max_interval <= 0:
            return 0
        low, high = task.min_interval * 60_000, task.max_interval * 60_000
        return self._rng.randint(low, high)

    def _relay_stops(self, seen_seq: int) -> int:
        while batch := self._store.events_after(seen_seq, _LOG_BATCH):
            for record in batch:
                if isinstance(record.event, TaskStopped | TaskDeleted):
                    for actor in self._actors.values():
                        actor.cancel(record.event.task_id)
            seen_seq = batch[-1].seq
        return seen_seq

    async def _start_due_tasks(self) -> float:
        """Start what is due; return the trio time at which the next task falls due."""
        now_us = self._clock.now_us()
        next_ready_us = math.inf
        starts: list[StartTask] = []
        pauses: list[PauseDevice] = []
        for actor in self._actors.values():
            if not actor.idle:
                continue
            due = self._store.next_due(actor.serial)
            if due is None:
                continue
            scheduled_at_us, task_id = due
            ready_us = max(scheduled_at_us, actor.resume_at_us)
            if ready_us > now_us:
                next_ready_us = min(next_ready_us, ready_us)
                continue
            if actor.pause_pending:
                actor.pause_pending = False
                pause_ms = self._draw_pause_ms(task_id)
                if pause_ms > 0:
                    pauses.append(PauseDevice(actor.serial, task_id, pause_ms))
                    actor.resume_at_us = now_us + pause_ms * 1000
                    next_ready_us = min(next_ready_us, actor.resume_at_us)
                    continue
            starts.append(StartTask(task_id=task_id, serial=actor.serial))
        next_due_at = trio.current_time() + (next_ready_us - now_us) / 1_000_000
        if pauses:
            await self._writer.submit_all(pauses)
        if not starts:
            return next_due_at

        outcomes = await self._writer.submit_all(starts)
        for start, outcome in zip(starts, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                # Stopped or deleted between our read and the commit: look again.
                self.wake()
                continue
            task = self._store.task(start.task_id)
            if task is None or task.status is not TaskStatus.RUNNING:
                continue  # stopped or deleted right after it started
            actor = self._actors[start.serial]
            if not actor.idle:  # the phone went away while we committed
                await self._writer.submit(
                    FailTask(
                        task_id=task.id,
                        attempt=task.attempts,
                        error="device disconnected",
                    )
                )
                continue
            actor.assign(task)
        return next_due_at
