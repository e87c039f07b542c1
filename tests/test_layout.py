"""The packaging layout: the root is `phonefarm`, `http/` never shadows the stdlib."""

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE_FOLDERS = ("core", "actors", "http", "tools")


def test_stdlib_http_is_reached_from_the_repository_root():
    out = subprocess.run(
        [sys.executable, "-c", "import http.client, http; print(http.__file__)"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert not out.startswith(str(ROOT)), out


def test_http_folder_is_a_namespace_package():
    assert not (ROOT / "http" / "__init__.py").exists()


def test_every_subpackage_is_listed_in_pyproject():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    listed = set(config["tool"]["setuptools"]["packages"])
    on_disk = {"phonefarm"}
    for top in PACKAGE_FOLDERS:
        for folder in [ROOT / top, *(p for p in (ROOT / top).rglob("*") if p.is_dir())]:
            if folder.name == "__pycache__" or not any(folder.glob("*.py")):
                continue
            relative = folder.relative_to(ROOT).parts
            on_disk.add(".".join(("phonefarm", *relative)))
    assert listed == on_disk
