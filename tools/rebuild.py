"""`phonefarm rebuild`: rebuild the projections from the event log, or check them."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn

from phonefarm.core.errors import StoreError, StoreLockedError
from phonefarm.core.store import Store
from phonefarm.tools import arguments
from phonefarm.tools.paths import default_data_dir


def add_parser(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = commands.add_parser(
        "rebuild", help="rebuild task state, indexes and stats from the event log"
    )
    parser.add_argument(
        "--data-dir",
        type=arguments.data_dir,
        default=None,
        help="the server's data dir",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="change nothing: compare the live projections with a rebuild, "
        "exit 1 listing every difference (safe beside a running server)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    data_dir = (args.data_dir or default_data_dir()).expanduser()
    try:
        store = Store.open(data_dir, readonly=args.check, create=False)
    except StoreLockedError:
        print(
            f"phonefarm: {data_dir} is held by a running server; stop it first "
            "(or use --check, which only reads)",
            file=sys.stderr,
        )
        return 1
    except StoreError as exc:
        print(f"phonefarm: {exc}", file=sys.stderr)
        return 1
    began = time.monotonic()
    try:
        with _replay_progress() as report:
            if args.check:
                differences = store.check(report)
            else:
                replayed = store.rebuild(report)
    except StoreError as exc:
        print(f"phonefarm: {exc}", file=sys.stderr)
        return 1
    finally:
        store.close()
    elapsed_s = max(time.monotonic() - began, 1e-9)
    if args.check:
        for difference in differences:
            print(difference.describe())
        if differences:
            print(f"{len(differences)} differences between the projections and the log")
            return 1
        print("projections match the event log")
        return 0
    print(
        f"rebuilt projections from {replayed} events "
        f"({replayed / elapsed_s:,.0f} events/s)"
    )
    return 0


@contextmanager
def _replay_progress() -> Iterator[Callable[[int, int], None]]:
    """A progress bar with the replay rate, fed by the store's progress callback."""
    began = time.monotonic()
    with Progress(
        TextColumn("replaying"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.completed:,.0f} events"),
        TextColumn("{task.fields[rate]}"),
        console=Console(stderr=True),
    ) as bar:
        task = bar.add_task("replay", total=None, rate="")

        def report(done: int, total: int) -> None:
            rate = done / max(time.monotonic() - began, 1e-9)
            bar.update(task, completed=done, total=total, rate=f"{rate:,.0f} events/s")

        yield report
