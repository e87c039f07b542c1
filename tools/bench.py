"""`phonefarm bench`: durable appends, one commit per event against group commit.

Each case runs for `--seconds` on a fresh store in a temporary directory
(under `--data-dir` if given, so the disk measured is the one the server
would use), creating one-event tasks, and reports events/s and the
latency from asking to hearing "committed":

  one per commit   `Store.apply` of a single command in a loop; every event
                   pays a whole durable commit (fsync)
  group commit     the writer actor with `--producers` concurrent callers;
                   every commit carries whatever is waiting
  api create       `POST /api/v1/task` through the app in process (quart's
                   test client: routing, validation, writer, JSON; no
                   sockets), with `--clients` concurrent callers

The ratio line compares the first two: what group commit buys.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import trio

from phonefarm.actors.runtime import RuntimeConfig, open_runtime
from phonefarm.actors.writer import Writer
from phonefarm.core.clock import SystemClock
from phonefarm.core.commands import CreateTasks, MarkDeviceOnline, TaskSpec
from phonefarm.core.store import Store

DEFAULT_SECONDS = 3.0
DEFAULT_PRODUCERS = 100
DEFAULT_CLIENTS = 50
SERIAL = "bench-1"
_FOLLOW_CONFIG = {"target_username": "alice", "access_method": "direct"}


def add_parser(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = commands.add_parser(
        "bench", help="measure durable appends: one per commit vs group commit"
    )
    parser.add_argument(
        "--seconds",
        type=_positive_float,
        default=DEFAULT_SECONDS,
        help="how long each case runs (%(default)s)",
    )
    parser.add_argument(
        "--producers",
        type=_positive_int,
        default=DEFAULT_PRODUCERS,
        help="concurrent callers of the group-commit writer (%(default)s)",
    )
    parser.add_argument(
        "--clients",
        type=_non_negative_int,
        default=DEFAULT_CLIENTS,
        help="concurrent API callers; 0 skips that case (%(default)s)",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="where the scratch stores go (default: the system's temp dir)",
    )
    parser.set_defaults(run=run)


@dataclass(frozen=True)
class Result:
    case: str
    events: int
    elapsed_s: float
    commits: int
    latencies_s: list[float]

    @property
    def events_per_s(self) -> float:
        return self.events / max(self.elapsed_s, 1e-9)

    def latency_ms(self, fraction: float) -> float:
        ordered = sorted(self.latencies_s)
        if not ordered:
            return float("nan")
        return ordered[round(fraction * (len(ordered) - 1))] * 1000


def run(args: argparse.Namespace) -> int:
    if args.data_dir is not None:
        args.data_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(
        prefix="phonefarm-bench-", dir=args.data_dir
    ) as scratch:
        root = Path(scratch)
        print(f"phonefarm bench: {args.seconds:g} s per case, scratch stores in {root}")
        results = [
            one_per_commit(root / "one-per-commit", args.seconds),
            trio.run(group_commit, root / "group-commit", args.seconds, args.producers),
        ]
        if args.clients:
            results.append(
                trio.run(api_create, root / "api-create", args.seconds, args.clients)
            )
    print_table(results)
    single, grouped = results[0], results[1]
    ratio = grouped.events_per_s / max(single.events_per_s, 1e-9)
    print(
        f"ratio: group commit appends {ratio:.1f}x the events/s of one event per commit"
    )
    return 0


def task_spec(now_us: int) -> TaskSpec:
    return TaskSpec(
        serial=SERIAL,
        username=None,
        platform="tiktok",
        script_name="follow",
        script_config=_FOLLOW_CONFIG,
        source="api",
        enable_multi_account=False,
        start_time=None,
        scheduled_at_us=now_us,
        min_interval=0,
        max_interval=0,
    )


def one_per_commit(data_dir: Path, seconds: float) -> Result:
    """A synchronous loop: each event is its own durable transaction."""
    store = Store.open(data_dir)
    try:
        clock = SystemClock(dt.UTC)
        latencies: list[float] = []
        began = time.perf_counter()
        deadline = began + seconds
        while (start := time.perf_counter()) < deadline:
            now_us = clock.now_us()
            store.apply([CreateTasks([task_spec(now_us)])], now_us)
            latencies.append(time.perf_counter() - start)
        elapsed = time.perf_counter() - began
    finally:
        store.close()
    return Result(
        "one event per commit", len(latencies), elapsed, len(latencies), latencies
    )


async def group_commit(data_dir: Path, seconds: float, producers: int) -> Result:
    """The writer actor under `producers` callers that each wait for their ack."""
    store = Store.open(data_dir)
    try:
        clock = SystemClock(dt.UTC)
        async with trio.open_nursery() as nursery:
            writer = Writer(store, clock)
            await nursery.start(writer.run)

            async def create() -> None:
                await writer.submit(CreateTasks([task_spec(clock.now_us())]))

            latencies, elapsed = await _load(create, producers, seconds)
            nursery.cancel_scope.cancel()
        commits = writer.commits
    finally:
        store.close()
    case = f"group commit, {producers} producers"
    return Result(case, len(latencies), elapsed, commits, latencies)


async def api_create(data_dir: Path, seconds: float, clients: int) -> Result:
    """`POST /task` through the whole app, in process, by `clients` callers."""
    from phonefarm.http.app import create_app  # quart only for this case

    config = RuntimeConfig(data_dir=data_dir, timezone=dt.UTC)
    async with open_runtime(config, drivers=[]) as runtime:
        await runtime.writer.submit(MarkDeviceOnline(SERIAL, "bench", "simulated"))
        commits_before = runtime.writer.commits
        app = create_app(runtime, rng=random.Random(0))
        async with app.test_app() as test_app:
            client = test_app.test_client()
            body = {
                "serials": [SERIAL],
                "script_name": "follow",
                "script_config": {"target_user": "alice"},
            }

            async def create() -> None:
                response = await client.post("/api/v1/task", json=body)
                if response.status_code != 200:
                    raise RuntimeError(f"create failed: {await response.get_data()}")

            latencies, elapsed = await _load(create, clients, seconds)
        commits = runtime.writer.commits - commits_before
    case = f"api create, {clients} clients"
    return Result(case, len(latencies), elapsed, commits, latencies)


async def _load(
    call: Callable[[], Awaitable[None]], callers: int, seconds: float
) -> tuple[list[float], float]:
    """Run `callers` loops of `call` until the deadline; each call's latency."""
    latencies: list[float] = []
    began = time.perf_counter()
    deadline = began + seconds

    async def caller() -> None:
        while (start := time.perf_counter()) < deadline:
            await call()
            latencies.append(time.perf_counter() - start)

    async with trio.open_nursery() as nursery:
        for _ in range(callers):
            nursery.start_soon(caller)
    return latencies, time.perf_counter() - began


def print_table(results: list[Result]) -> None:
    width = max(len(r.case) for r in results)
    print(
        f"{'case':<{width}}  {'events':>9}  {'events/s':>9}  {'commits':>8}  "
        f"{'ack p50':>9}  {'ack p99':>9}"
    )
    for r in results:
        print(
            f"{r.case:<{width}}  {r.events:>9,}  {r.events_per_s:>9,.0f}  "
            f"{r.commits:>8,}  {r.latency_ms(0.5):>6.2f} ms  "
            f"{r.latency_ms(0.99):>6.2f} ms"
        )


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError("must be above 0")
    return value


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def _non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value
