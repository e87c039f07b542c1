"""A full disk: a clean StoreFullError, nothing lost, nothing half-written.

The disk is filled for real, in a child process (disk_full_child.py)
whose file size limit stands in for the end of the disk, so LMDB's own
writes fail the way they fail on a full disk.
"""

import errno
import json
import subprocess
import sys
from pathlib import Path

import lmdb
import pytest

from phonefarm.core.errors import StoreError, StoreFullError
from phonefarm.core.store import Store, _store_error

CHILD = Path(__file__).with_name("disk_full_child.py")


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("full") / "data"
    result = subprocess.run(
        [sys.executable, str(CHILD), str(data_dir)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout) | {"data_dir": str(data_dir)}


def test_a_full_disk_refuses_the_commit_with_a_reason(report):
    assert report["full"] == {
        "acknowledged": [],
        "error": "store is full: file size limit reached",
    }
    filling = report["filling"]
    assert filling["acknowledged"], "some commits fit before the disk filled"
    assert filling["error"] is not None and filling["error"].startswith(
        "store is full: "
    )


def test_a_refused_commit_writes_nothing(report):
    assert report["full_reads"] == {
        "last_seq": 5,
        "events": 5,
        "total": 5,
        "newest_id": 5,
        "stats_total": 5,
        "first_history": [1],
    }
    assert report["full_differences"] == []

    newest = report["filling"]["acknowledged"][-1]
    assert report["filling_reads"] == {
        "last_seq": newest,
        "events": newest,
        "total": newest,
        "newest_id": newest,
        "stats_total": newest,
        "first_history": [1],
    }
    assert report["filling_differences"] == []


def test_writes_work_again_once_there_is_room(report):
    # The refused commits took no task id and no seq.
    assert report["after_full"] == [6]
    assert report["filling"]["acknowledged"][0] == 7
    newest = report["filling"]["acknowledged"][-1]
    assert report["after_filling"] == [newest + 1]
    assert report["final_reads"]["last_seq"] == newest + 1


def test_nothing_acknowledged_is_lost(report):
    acknowledged = [
        *report["before"],
        *report["after_full"],
        *report["filling"]["acknowledged"],
        *report["after_filling"],
    ]
    store = Store.open(report["data_dir"])
    try:
        assert all(store.task(task_id) is not None for task_id in acknowledged)
        assert store.stats()["total"] == len(acknowledged) == store.last_seq()
        assert store.check() == []
    finally:
        store.close()


def lmdb_error(code):
    error = lmdb.Error("mdb_txn_commit")
    error.code = code  # as py-lmdb's C extension sets it when LMDB fails
    return error


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (lmdb.DiskError("mdb_txn_commit"), "no space left on device"),
        (lmdb_error(errno.ENOSPC), "no space left on device"),
        (lmdb_error(errno.EDQUOT), "disk quota exceeded"),
        (lmdb_error(errno.EFBIG), "file size limit reached"),
        (lmdb_error(errno.EIO), "a disk write came up short (is the disk full?)"),
    ],
)
def test_every_way_a_disk_says_full_is_a_store_full_error(error, reason):
    translated = _store_error(error)
    assert isinstance(translated, StoreFullError)
    assert translated.reason == reason


def test_other_lmdb_errors_stay_store_errors():
    translated = _store_error(lmdb.CorruptedError("mdb_get"))
    assert type(translated) is StoreError
