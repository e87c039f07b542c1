"""Log setup for the command line: readable lines, or JSON lines."""

from __future__ import annotations

import datetime as dt
import logging
import sys

import msgspec

from phonefarm.actors.logctx import ContextFilter

_READABLE = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
_encode_json = msgspec.json.Encoder().encode


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "at": _iso_ms(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in ("serial", "task_id", "request_id"):
            value = getattr(record, key, None)
            if value is not None:
                line[key] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return _encode_json(line).decode()


def _iso_ms(created: float) -> str:
    moment = dt.datetime.fromtimestamp(created).astimezone()
    return moment.isoformat(timespec="milliseconds")


def configure_logging(level: str = "info", *, json_lines: bool = False) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(ContextFilter())
    handler.setFormatter(
        JsonFormatter() if json_lines else logging.Formatter(_READABLE)
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Libraries that talk at INFO about things an operator does not need;
    # uiautomator2 logs RPC parameters (typed captions) even at DEBUG, and
    # hypercorn's "Running on" repeats phonefarm's own listening line.
    for noisy in (
        "hypercorn.access",
        "hypercorn.error",
        "quart.serving",
        "uiautomator2",
        "adbutils",
    ):
        logging.getLogger(noisy).setLevel(logging.WARNING)
