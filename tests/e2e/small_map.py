"""`python small_map.py MAP_SIZE_BYTES COMMAND...`: phonefarm on a small LMDB map.

Stores open with a map of MAP_SIZE_BYTES instead of 1 TiB, so that a test
sees the server grow its map, and a reader beside it (`phonefarm events
--follow`, `rebuild --check`) meet LMDB's MapResizedError, with a few
hundred KiB of events instead of a terabyte.
"""

from __future__ import annotations

import sys

from phonefarm.core.store import Store
from phonefarm.tools.cli import main

if __name__ == "__main__":
    Store.open.__func__.__kwdefaults__["map_size"] = int(sys.argv[1])
    sys.exit(main(sys.argv[2:]))
