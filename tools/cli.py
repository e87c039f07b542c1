"""The `phonefarm` command: `phonefarm serve`, and the tools beside it."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from phonefarm.tools import bench, events, rebuild, serve


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="phonefarm",
        description="Self-hosted phone-farm server with a TikMatrix-compatible API.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve.add_parser(commands)
    events.add_parser(commands)
    rebuild.add_parser(commands)
    bench.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
