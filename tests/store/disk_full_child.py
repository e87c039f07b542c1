"""Fill a store's disk in this process, then report what the store did, as JSON.

Run by test_disk_full.py as `python disk_full_child.py DATA_DIR`. A file
size limit (RLIMIT_FSIZE) stands in for a full disk: a write past it fails
with EFBIG, or comes up short, as on a disk with no room left, and only in
this process. Python ignores SIGXFSZ from startup, so the limit gives
errors instead of killing the process.

Two disks: one already full (the limit is below every data page, so the
very first commit fails) and one that fills while commits go on.
"""

from __future__ import annotations

import json
import resource
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1]))  # for `factories`

from factories import spec

from phonefarm.core.commands import CreateTasks
from phonefarm.core.errors import StoreFullError
from phonefarm.core.store import Store

PAGE_BYTES = 4096
ROOM_LEFT_BYTES = 256 * 1024
MAX_ATTEMPTS = 500
BIG = spec("S1", script_config={"captions": "x" * 3000, "material_list": ["/v.mp4"]})


def create(store: Store, count: int) -> list[int]:
    (outcome,) = store.apply([CreateTasks([BIG] * count)], 10)
    return [record.event.task_id for record in outcome]


def limit_file_size(limit_bytes: int) -> None:
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, resource.RLIM_INFINITY))


def snapshot(store: Store) -> dict[str, object]:
    """What reads say, each through a fresh read transaction."""
    last_seq = store.last_seq()
    tasks, total = store.list_tasks({}, offset=0, limit=1)
    return {
        "last_seq": last_seq,
        "events": len(list(store.iter_events())),
        "total": total,
        "newest_id": tasks[0].id if tasks else None,
        "stats_total": store.stats()["total"],
        "first_history": [r.seq for r in store.task_history(1)],
    }


def differences(store: Store) -> list[str]:
    """The projections against a replay of the log (which needs disk space)."""
    return [difference.describe() for difference in store.check()]


def fill(store: Store, tasks_per_commit: int) -> dict[str, object]:
    """Commit until the store is full; what was acknowledged, and the error."""
    acknowledged: list[int] = []
    for _ in range(MAX_ATTEMPTS):
        try:
            acknowledged += create(store, tasks_per_commit)
        except StoreFullError as exc:
            return {"acknowledged": acknowledged, "error": str(exc)}
    return {"acknowledged": acknowledged, "error": None}


def main(data_dir: str) -> int:
    report: dict[str, object] = {}
    store = Store.open(data_dir)
    try:
        report["before"] = create(store, 5)

        # A disk already full: the limit lies below every data page.
        limit_file_size(2 * PAGE_BYTES)
        report["full"] = fill(store, 1)
        report["full_reads"] = snapshot(store)
        limit_file_size(resource.RLIM_INFINITY)
        report["full_differences"] = differences(store)
        report["after_full"] = create(store, 1)

        # A disk that fills while commits go on.
        size = (Path(data_dir) / "data.mdb").stat().st_size
        limit_file_size(size + ROOM_LEFT_BYTES)
        report["filling"] = fill(store, 10)
        report["filling_reads"] = snapshot(store)
        limit_file_size(resource.RLIM_INFINITY)
        report["filling_differences"] = differences(store)
        report["after_filling"] = create(store, 1)
        report["final_reads"] = snapshot(store)
    finally:
        store.close()
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
