"""`phonefarm bench` through `main([...])`: tiny settings, the ratio line, exit 0."""

import re

from phonefarm.tools.cli import main


def test_bench_reports_each_case_and_the_ratio(tmp_path, capsys):
    argv = ["bench", "--seconds", "0.2", "--producers", "8", "--clients", "2"]
    assert main([*argv, "--data-dir", str(tmp_path)]) == 0

    out = capsys.readouterr().out
    for case in ("one event per commit", "group commit, 8 producers", "api create"):
        row = next(line for line in out.splitlines() if line.startswith(case))
        assert re.search(r"\d ms +\d+\.\d\d ms$", row), row
    assert re.search(r"^ratio: group commit appends \d+\.\dx the events/s", out, re.M)
    assert list(tmp_path.iterdir()) == []  # the scratch stores are gone


def test_bench_can_skip_the_api_case(tmp_path, capsys):
    argv = ["bench", "--seconds", "0.1", "--producers", "2", "--clients", "0"]
    assert main([*argv, "--data-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "api create" not in out and "ratio: " in out
