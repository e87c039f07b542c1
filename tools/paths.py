"""Where phonefarm keeps its data unless told otherwise."""

from __future__ import annotations

from pathlib import Path

import platformdirs


def default_data_dir() -> Path:
    """The per-user data folder, e.g. ~/.local/share/phonefarm on Linux."""
    return Path(platformdirs.user_data_dir("phonefarm", appauthor=False))
