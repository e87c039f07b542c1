"""The device actor: one per phone, runs one task at a time.

The dispatcher decides what runs where and commits `StartTask` before it
hands a task over, so an actor only ever receives tasks that the log says
are running on its phone. The actor runs the task's script, reports the
outcome through the writer, and tells the dispatcher it is idle again.

Stopping is a trio cancellation of the running script. The stop itself is
already committed (the task reads failed, `stopped by user`) by the time
the actor hears of it, so a cancelled script reports nothing; and a result
it reports anyway, racing the stop, is ignored by the rules as late.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import trio

from phonefarm.actors.driver import Driver
from phonefarm.actors.logctx import current_serial, current_task_id
from phonefarm.actors.scripts import SCRIPTS, ScriptContext, app_for
from phonefarm.actors.writer import Writer
from phonefarm.core.commands import (
    Command,
    CompleteTask,
    FailTask,
    MarkDeviceOffline,
)
from phonefarm.core.errors import DeviceDisconnectedError, PhonefarmError
from phonefarm.core.task import Task

log = logging.getLogger(__name__)

DEFAULT_TASK_TIMEOUT_S = 30 * 60


class DeviceActor:
    def __init__(
        self,
        driver: Driver,
        writer: Writer,
        *,
        on_idle: Callable[[], None],
        material_dirs: tuple[Path, ...] | None = None,
        task_timeout_s: float = DEFAULT_TASK_TIMEOUT_S,
    ) -> None:
        self.driver = driver
        self.serial = driver.serial
        self.online = True
        self.current_task_id: int | None = None
        # Interval pauses (see the dispatcher): whether the next task must be
        # preceded by one, and the wall-clock µs before which nothing starts.
        self.pause_pending = False
        self.resume_at_us = 0
        self._writer = writer
        self._on_idle = on_idle
        self._material_dirs = material_dirs
        self._task_timeout_s = task_timeout_s
        self._inbox_send, self._inbox = trio.open_memory_channel[Task](1)
        self._scope: trio.CancelScope | None = None
        self._cancelled_task_id: int | None = None

    @property
    def idle(self) -> bool:
        return self.online and self.current_task_id is None

    def assign(self, task: Task) -> None:
        """Hand over a task the log already shows running here; must be idle."""
        assert self.idle, f"{self.serial} is busy with {self.current_task_id}"
        self.current_task_id = task.id
        self._inbox_send.send_nowait(task)

    def cancel(self, task_id: int) -> None:
        """Interrupt the task if it is this phone's; otherwise do nothing.

        A task assigned but not started yet is cancelled as it starts.
        """
        if self.current_task_id != task_id:
            return
        self._cancelled_task_id = task_id
        if self._scope is not None:
            self._scope.cancel()

    async def run(self) -> None:
        current_serial.set(self.serial)
        # A crash leaves `current_task_id` set on purpose: the supervisor
        # reads it to fail the task no one will finish.
        async for task in self._inbox:
            await self._run_task(task)
            self.current_task_id = None
            self._scope = None
            self._cancelled_task_id = None
            self.pause_pending = True
            self._on_idle()

    async def _run_task(self, task: Task) -> None:
        current_task_id.set(task.id)
        context = ScriptContext(
            driver=self.driver,
            task=task,
            app=app_for(task),
            material_dirs=self._material_dirs,
        )
        error: str | None = None
        with trio.CancelScope() as scope:
            self._scope = scope
            if self._cancelled_task_id == task.id:
                scope.cancel()
            try:
                with trio.fail_after(self._task_timeout_s):
                    await SCRIPTS[task.script_name](context)
            except DeviceDisconnectedError as exc:
                error = str(exc)
                self.online = False
            except PhonefarmError as exc:
                error = str(exc)
            except trio.TooSlowError:
                error = f"timed out after {self._task_timeout_s:g} s"
            except Exception as exc:
                log.exception(
                    "script crashed task_id=%s serial=%s", task.id, self.serial
                )
                error = f"internal error: {type(exc).__name__}"
        if scope.cancelled_caught:
            # The stop is already committed; anything we report would be late.
            log.debug("script interrupted task_id=%s", task.id)
            return
        if error is None:
            outcome: Command = CompleteTask(task_id=task.id, attempt=task.attempts)
        else:
            outcome = FailTask(task_id=task.id, attempt=task.attempts, error=error)
        commands = [outcome]
        if not self.online:
            commands.append(MarkDeviceOffline(serial=self.serial, reason=error or ""))
        await self._writer.submit_all(commands)
