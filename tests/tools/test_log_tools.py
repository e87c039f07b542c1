"""`phonefarm rebuild` and `phonefarm events` through `main([...])` and exit codes."""

import fcntl
import json

import pytest
from factories import spec

from phonefarm.core.commands import (
    AddAccount,
    CompleteTask,
    CreateTasks,
    MarkDeviceOnline,
    RemoveAccount,
    StartTask,
)
from phonefarm.core.store import LOCK_FILE_NAME, Store
from phonefarm.tools.cli import main


@pytest.fixture
def data_dir(tmp_path):
    store = Store.open(tmp_path)
    store.apply([MarkDeviceOnline("S1", "Pixel", "simulated")], 1)
    store.apply([CreateTasks([spec("S1"), spec("S2")])], 2)
    store.apply([StartTask(1, "S1"), CompleteTask(1, 1)], 3)
    store.close()
    return tmp_path


def test_rebuild_replays_the_log(data_dir, capsys):
    assert main(["rebuild", "--data-dir", str(data_dir)]) == 0
    assert "rebuilt projections from 5 events" in capsys.readouterr().out
    assert main(["rebuild", "--data-dir", str(data_dir), "--check"]) == 0


def test_rebuild_check_lists_differences_and_fails(data_dir, capsys):
    store = Store.open(data_dir)
    with store._env.begin(write=True) as txn:  # a projection drifts from the log
        txn.drop(store._dbs.devices, delete=False)
    store.close()

    assert main(["rebuild", "--data-dir", str(data_dir), "--check"]) == 1
    out = capsys.readouterr().out
    assert "devices: key" in out and "1 differences" in out


def test_rebuild_refuses_a_directory_a_server_holds(data_dir, capsys):
    # The server's hold is the flock on the lock file; take it the same way.
    with open(data_dir / LOCK_FILE_NAME, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        assert main(["rebuild", "--data-dir", str(data_dir)]) == 1
        assert "held by a running server" in capsys.readouterr().err
        assert main(["rebuild", "--data-dir", str(data_dir), "--check"]) == 0


def test_rebuild_of_a_missing_store_is_one_clear_line(tmp_path, capsys):
    assert main(["rebuild", "--data-dir", str(tmp_path / "nothing"), "--check"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("phonefarm: ") and len(err.strip().splitlines()) == 1


def test_events_json_lines(data_dir, capsys):
    assert main(["events", "--data-dir", str(data_dir), "--json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [e["seq"] for e in lines] == [1, 2, 3, 4, 5]
    assert [e["type"] for e in lines[-2:]] == ["task.started", "task.completed"]
    assert lines[1] | {"at": None, "data": None} == {
        "seq": 2,
        "type": "task.created",
        "version": 1,
        "at": None,
        "task_id": 1,
        "serial": "S1",
        "data": None,
    }


def test_events_filters(data_dir, capsys):
    main(["events", "--data-dir", str(data_dir), "--json", "--task", "1"])
    assert [json.loads(x)["seq"] for x in capsys.readouterr().out.splitlines()] == [
        2,
        4,
        5,
    ]
    main(["events", "--data-dir", str(data_dir), "--json", "--serial", "S2"])
    assert [json.loads(x)["seq"] for x in capsys.readouterr().out.splitlines()] == [3]
    main(["events", "--data-dir", str(data_dir), "--json", "--after", "3"])
    assert [json.loads(x)["seq"] for x in capsys.readouterr().out.splitlines()] == [
        4,
        5,
    ]


def test_events_table_is_readable(data_dir, capsys):
    assert main(["events", "--data-dir", str(data_dir)]) == 0
    out = capsys.readouterr().out
    assert "task.completed" in out and "device.connected" in out


def test_events_by_serial_include_every_event_of_that_phones_tasks(data_dir, capsys):
    main(["events", "--data-dir", str(data_dir), "--json", "--serial", "S1"])
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [(e["seq"], e["type"]) for e in lines] == [
        (1, "device.connected"),
        (2, "task.created"),
        (4, "task.started"),
        (5, "task.completed"),
    ]


def test_events_of_a_task_never_created_is_one_clear_line(data_dir, capsys):
    assert main(["events", "--data-dir", str(data_dir), "--task", "999"]) == 1
    assert capsys.readouterr().err == "phonefarm: no task 999 in the log\n"


@pytest.mark.parametrize(
    "argv",
    [
        ["events", "--after", "-5"],
        ["events", "--after", str(10**23)],
        ["events", "--task", "0"],
        ["serve", "--port", "70000"],
        ["serve", "--port", "-1"],
        ["serve", "--data-dir", ""],
        ["rebuild", "--data-dir", " "],
        ["serve", "--simulate", "1000000"],
        ["serve", "--read-timeout", "nan"],
        ["serve", "--host", "999.1.1.1"],
        ["serve", "--material-dir", "/nonexistent/folder"],
    ],
)
def test_bad_arguments_are_one_clear_usage_error(argv, capsys):
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "error: argument" in err


def test_rebuild_of_a_missing_directory_creates_nothing(tmp_path, capsys):
    missing = tmp_path / "typo"
    assert main(["rebuild", "--data-dir", str(missing)]) == 1
    assert "no phonefarm store" in capsys.readouterr().err
    assert not missing.exists()


def test_events_by_serial_include_account_removals(tmp_path, capsys):
    store = Store.open(tmp_path)
    store.apply([MarkDeviceOnline("S1", "Pixel", "simulated")], 1)
    store.apply([AddAccount("S1", "alice", "tiktok"), RemoveAccount("alice")], 2)
    store.close()
    main(["events", "--data-dir", str(tmp_path), "--json", "--serial", "S1"])
    kinds = [json.loads(x)["type"] for x in capsys.readouterr().out.splitlines()]
    assert kinds == ["device.connected", "account.added", "account.removed"]
