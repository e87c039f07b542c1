"""The fleet: one supervised device actor per phone.

Phones come from drivers handed in at start (simulated phones), or are
added and removed while running with `attach`/`detach` (adb discovery,
`actors/adb_discovery.py`, as phones are plugged in and out). Each actor
runs under a supervisor that restarts it with backoff if it crashes; a
crash fails the task it was running, since no one else will finish it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from pathlib import Path

import trio

from phonefarm.actors.device import DeviceActor
from phonefarm.actors.driver import Driver
from phonefarm.actors.writer import Writer
from phonefarm.core.commands import (
    Command,
    FailTask,
    MarkDeviceOffline,
    MarkDeviceOnline,
)
from phonefarm.core.store import Store

log = logging.getLogger(__name__)

RESTART_BACKOFF_S = (1.0, 2.0, 5.0, 10.0, 30.0)


class Fleet:
    def __init__(
        self,
        store: Store,
        writer: Writer,
        actors: dict[str, DeviceActor],
        *,
        on_idle: Callable[[], None],
        material_dirs: tuple[Path, ...] | None = None,
    ) -> None:
        self._store = store
        self._writer = writer
        self._on_idle = on_idle
        self._material_dirs = material_dirs
        self.actors = actors  # shared with the dispatcher; filled here
        self._nursery: trio.Nursery | None = None
        self._scopes: dict[str, trio.CancelScope] = {}  # per attached actor

    def current_task_id(self, serial: str) -> int | None:
        actor = self.actors.get(serial)
        return None if actor is None else actor.current_task_id

    async def run(
        self,
        drivers: Iterable[Driver],
        *,
        task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """Register the phones, then supervise one actor each until cancelled."""
        drivers = list(drivers)
        # Phones a dead process left "online" are offline until found again,
        # so that the log (and its transition lines) shows each reconnect.
        present = {driver.serial for driver in drivers}
        await self._writer.submit_all(
            [
                MarkDeviceOffline(
                    serial=d.serial,
                    reason="server restarted"
                    if d.serial in present
                    else "not connected",
                )
                for d in self._store.devices()
                if d.online
            ]
            + [
                MarkDeviceOnline(serial=d.serial, model=d.model, driver=d.kind)
                for d in drivers
            ]
        )
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            for driver in drivers:
                self._start_actor(driver)
            # Open until cancelled, so `attach` has somewhere to start actors.
            nursery.start_soon(trio.sleep_forever)
            task_status.started()

    async def attach(self, driver: Driver) -> None:
        """Add a phone that was just plugged in (or came back); needs `run` first.

        Records `DeviceConnected` and starts a supervised actor. A phone
        already attached is left as it is.
        """
        current = self.actors.get(driver.serial)
        if current is not None and current.online and driver.serial in self._scopes:
            return
        await self._writer.submit(
            MarkDeviceOnline(
                serial=driver.serial, model=driver.model, driver=driver.kind
            )
        )
        stale = self._scopes.pop(driver.serial, None)
        if stale is not None:  # an actor that lost its phone on its own
            stale.cancel()
        self._start_actor(driver)
        self._on_idle()

    async def detach(self, serial: str, reason: str) -> None:
        """Take an unplugged phone out: fail its running task, mark it offline.

        The failure is committed before the actor is cancelled, so the
        cancelled script (which reports nothing) cannot leave the task
        running. The actor stays in `actors`, offline, so the dispatcher
        never finds a serial missing; `attach` replaces it.
        """
        actor = self.actors.get(serial)
        if actor is None:
            return
        actor.online = False
        commands: list[Command] = []
        running = actor.current_task_id
        task = None if running is None else self._store.task(running)
        if task is not None:
            commands.append(
                FailTask(task_id=task.id, attempt=task.attempts, error=reason)
            )
        commands.append(MarkDeviceOffline(serial=serial, reason=reason))
        await self._writer.submit_all(commands)
        scope = self._scopes.pop(serial, None)
        if scope is not None:
            scope.cancel()
        actor.current_task_id = None

    def _start_actor(self, driver: Driver) -> None:
        actor = DeviceActor(
            driver,
            self._writer,
            on_idle=self._on_idle,
            material_dirs=self._material_dirs,
        )
        known = self._store.device(driver.serial)
        if known is not None:  # a pause recorded before a restart holds
            actor.resume_at_us = known.paused_until_us
        self.actors[driver.serial] = actor
        scope = trio.CancelScope()
        self._scopes[driver.serial] = scope
        assert self._nursery is not None, "Fleet.run starts the nursery"
        self._nursery.start_soon(self._supervise_within, actor, scope)

    async def _supervise_within(
        self, actor: DeviceActor, scope: trio.CancelScope
    ) -> None:
        with scope:
            await self._supervise(actor)

    async def mark_all_offline(self, reason: str) -> None:
        await self._writer.submit_all(
            [MarkDeviceOffline(serial=serial, reason=reason) for serial in self.actors]
        )

    async def _supervise(self, actor: DeviceActor) -> None:
        failures = 0
        while True:
            running = None
            try:
                await actor.run()
                return
            except Exception:
                running = actor.current_task_id
                backoff_s = RESTART_BACKOFF_S[min(failures, len(RESTART_BACKOFF_S) - 1)]
                log.exception(
                    "device actor crashed serial=%s restart_in_s=%s",
                    actor.serial,
                    backoff_s,
                )
                failures += 1
            actor.current_task_id = None
            if running is not None:
                task = self._store.task(running)
                if task is not None:
                    await self._writer.submit(
                        FailTask(
                            task_id=running,
                            attempt=task.attempts,
                            error="internal error",
                        )
                    )
            await trio.sleep(backoff_s)
            self._on_idle()
