"""`phonefarm events`: read the event log, for auditing.

Opens the store read-only, so it runs beside a live server; `--follow`
then polls for what the server appends.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Iterator
from typing import Protocol

import msgspec
from rich.console import Console
from rich.table import Table

from phonefarm.core.clock import local_timezone
from phonefarm.core.errors import StoreError
from phonefarm.core.event_json import event_object
from phonefarm.core.events import Recorded
from phonefarm.core.store import Store
from phonefarm.tools import arguments
from phonefarm.tools.paths import default_data_dir

FOLLOW_POLL_S = 0.2
_BATCH = 1000
_encode_json = msgspec.json.Encoder().encode


def add_parser(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = commands.add_parser("events", help="show the event log (read-only)")
    parser.add_argument(
        "--data-dir",
        type=arguments.data_dir,
        default=None,
        help="the server's data dir",
    )
    parser.add_argument(
        "--task",
        type=arguments.task_id,
        default=None,
        metavar="ID",
        help="one task only",
    )
    parser.add_argument("--serial", default=None, help="one phone's events only")
    parser.add_argument(
        "--after", type=arguments.seq, default=0, metavar="SEQ", help="start after SEQ"
    )
    parser.add_argument(
        "--follow", action="store_true", help="keep printing new events"
    )
    parser.add_argument(
        "--json", action="store_true", help="JSON lines instead of a table"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    data_dir = (args.data_dir or default_data_dir()).expanduser()
    try:
        store = Store.open(data_dir, readonly=True)
    except StoreError as exc:
        print(f"phonefarm: {exc}", file=sys.stderr)
        return 1
    try:
        if args.task is not None and not args.follow:
            if not store.task_history(args.task, limit=1):
                print(f"phonefarm: no task {args.task} in the log", file=sys.stderr)
                return 1
        printer = _JsonPrinter() if args.json else _TablePrinter()
        wanted = _Filter(store, args)
        # Everything up to `end` is printed now, the rest by --follow: an
        # event committed meanwhile is printed once, never skipped.
        end = store.last_seq()
        for record in _records(store, args, wanted):
            if record.seq > end:
                break
            printer.add(record)
        printer.flush()
        if args.follow:
            _follow(store, printer, wanted, after=max(args.after, end))
    except BrokenPipeError:
        return 0
    finally:
        store.close()
    return 0


def _follow(store: Store, printer: _Printer, wanted: _Filter, after: int) -> None:
    """Print what the server appends after `after` until SIGINT or SIGTERM.

    The signals only set a flag, checked between two reads: an interrupt
    raised in the middle of a read (inside LMDB, or while adopting a map the
    server grew) could leave the store's state half-changed.
    """
    stop = threading.Event()

    def request_stop(signum: int, frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    while not stop.is_set():
        new = store.events_after(after, _BATCH)
        for record in new:
            if wanted(record):
                printer.add(record)
        printer.flush()
        if new:
            after = new[-1].seq
        else:
            stop.wait(FOLLOW_POLL_S)


def _records(
    store: Store, args: argparse.Namespace, wanted: _Filter
) -> Iterator[Recorded]:
    if args.task is not None:
        records: Iterator[Recorded] = iter(store.task_history(args.task))
    else:
        records = _log_after(store, args.after)
    return (r for r in records if wanted(r))


def _log_after(store: Store, after: int) -> Iterator[Recorded]:
    while batch := store.events_after(after, _BATCH):
        yield from batch
        after = batch[-1].seq


class _Filter:
    """Which records to print. A task's events all count as its phone's,
    though only some of them name the serial themselves."""

    def __init__(self, store: Store, args: argparse.Namespace) -> None:
        self._store = store
        self._args = args
        self._serials: dict[int, str | None] = {}

    def __call__(self, record: Recorded) -> bool:
        args = self._args
        if record.seq <= args.after:
            return False
        if args.task is not None and record.task_id != args.task:
            return False
        return args.serial is None or self._serial(record) == args.serial

    def _serial(self, record: Recorded) -> str | None:
        task_id = record.task_id
        if task_id is None:
            return record.serial
        if task_id not in self._serials:
            self._serials[task_id] = self._store.task_serial(task_id)
        return self._serials[task_id]


class _Printer(Protocol):
    def add(self, record: Recorded) -> None: ...

    def flush(self) -> None: ...


class _JsonPrinter:
    def __init__(self) -> None:
        self._tz = local_timezone()

    def add(self, record: Recorded) -> None:
        sys.stdout.write(_encode_json(event_object(record, self._tz)).decode() + "\n")

    def flush(self) -> None:
        sys.stdout.flush()


class _TablePrinter:
    """Rows in a rich table, printed whenever a batch is complete."""

    def __init__(self) -> None:
        self._tz = local_timezone()
        self._console = Console()
        self._rows: list[dict[str, object]] = []

    def add(self, record: Recorded) -> None:
        self._rows.append(event_object(record, self._tz))

    def flush(self) -> None:
        if not self._rows:
            return
        table = Table(show_edge=False, pad_edge=False)
        for column in ("seq", "at", "type", "task", "serial", "details"):
            table.add_column(column, no_wrap=column != "details")
        for row in self._rows:
            details = {
                k: v
                for k, v in row["data"].items()  # type: ignore[union-attr]
                if k not in ("task_id", "serial", "script_config")
            }
            table.add_row(
                str(row["seq"]),
                str(row["at"]),
                str(row["type"]),
                "" if row["task_id"] is None else str(row["task_id"]),
                row["serial"] or "",  # type: ignore[arg-type]
                " ".join(f"{k}={v}" for k, v in details.items()),
            )
        self._console.print(table)
        self._rows.clear()
