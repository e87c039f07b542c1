"""The running server minus HTTP: store, writer, fleet and dispatcher.

`open_runtime` starts them in order and stops them in reverse, so that the
HTTP app (and tests) only ever see a runtime that is ready:

  start: open the store → writer → fail tasks a dead process left running
         (`interrupted by restart`) → register phones, start their actors →
         dispatcher.
  stop:  dispatcher and actors cancelled → running tasks failed
         (`interrupted by shutdown`) and phones marked offline → writer
         stopped → store closed.

Background work lives in this nursery rather than in quart's
`before_serving`, so the served app and the in-process test app share one
startup path and the shutdown order above is explicit.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import trio

from phonefarm.actors.device import DeviceActor
from phonefarm.actors.dispatcher import Dispatcher
from phonefarm.actors.driver import Driver
from phonefarm.actors.fleet import Fleet
from phonefarm.actors.simulated import SimulatedPhone
from phonefarm.actors.transition_log import TransitionLog
from phonefarm.actors.writer import Writer
from phonefarm.core.clock import Clock, SystemClock
from phonefarm.core.commands import InterruptRunning
from phonefarm.core.store import Store

log = logging.getLogger(__name__)

SHUTDOWN_WRITE_TIMEOUT_S = 1.0


@dataclass(frozen=True)
class RuntimeConfig:
    data_dir: Path
    simulate: int = 0
    platform: str = "tiktok"
    timezone: dt.tzinfo | None = None
    material_dirs: tuple[Path, ...] | None = None
    sim_step_delay_s: tuple[float, float] = field(default=(0.05, 0.2))
    # Find real phones through the local adb server (actors/adb_discovery.py).
    adb: bool = False


class Runtime:
    def __init__(
        self,
        config: RuntimeConfig,
        store: Store,
        writer: Writer,
        clock: Clock,
        fleet: Fleet,
        dispatcher: Dispatcher,
    ) -> None:
        self.config = config
        self.store = store
        self.writer = writer
        self.clock = clock
        self.fleet = fleet
        self.dispatcher = dispatcher

    def current_task_id(self, serial: str) -> int | None:
        return self.fleet.current_task_id(serial)


def simulated_phones(
    count: int, step_delay_s: tuple[float, float]
) -> list[SimulatedPhone]:
    width = max(2, len(str(count)))
    return [
        SimulatedPhone(f"sim-{n:0{width}d}", step_delay_s=step_delay_s, seed=n)
        for n in range(1, count + 1)
    ]


@asynccontextmanager
async def open_runtime(
    config: RuntimeConfig,
    *,
    clock: Clock | None = None,
    drivers: Sequence[Driver] | None = None,
    commit_in_thread: bool = True,
) -> AsyncIterator[Runtime]:
    """Start everything but HTTP; StoreError if the store cannot be opened.

    `drivers` replaces the phones `config.simulate` would create (tests use
    it to hold on to the simulated phones and inject faults);
    `commit_in_thread=False` is for tests under MockClock (see `Writer`).
    """
    clock = clock or SystemClock(config.timezone)
    if drivers is None:
        drivers = simulated_phones(config.simulate, config.sim_step_delay_s)
    store = Store.open(config.data_dir)
    try:
        async with trio.open_nursery() as writer_nursery:
            writer = Writer(store, clock, commit_in_thread=commit_in_thread)
            await writer_nursery.start(writer.run)
            transitions = TransitionLog(store)
            writer_nursery.start_soon(transitions.run, writer)
            interrupted = await writer.submit(
                InterruptRunning(reason="interrupted by restart")
            )
            if interrupted:
                log.warning("tasks interrupted by restart count=%d", len(interrupted))

            async with trio.open_nursery() as actor_nursery:
                actors: dict[str, DeviceActor] = {}
                dispatcher = Dispatcher(store, writer, clock, actors)
                fleet = Fleet(
                    store,
                    writer,
                    actors,
                    on_idle=dispatcher.wake,
                    material_dirs=config.material_dirs,
                )
                await actor_nursery.start(fleet.run, drivers)
                if config.adb:
                    # Imported here: adbutils reads ANDROID_ADB_SERVER_PORT
                    # when imported, and simulated-only servers never need it.
                    from phonefarm.actors.adb_discovery import watch_adb

                    actor_nursery.start_soon(watch_adb, fleet)
                await actor_nursery.start(dispatcher.run)
                try:
                    yield Runtime(config, store, writer, clock, fleet, dispatcher)
                finally:
                    actor_nursery.cancel_scope.cancel()

            with (
                trio.CancelScope(shield=True),
                trio.move_on_after(SHUTDOWN_WRITE_TIMEOUT_S),
            ):
                await writer.submit(InterruptRunning(reason="interrupted by shutdown"))
                await fleet.mark_all_offline("server stopped")
            transitions.catch_up()  # the shutdown's own events, before we go
            writer_nursery.cancel_scope.cancel()
    finally:
        store.close()
