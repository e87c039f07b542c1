"""Context for log records: the serial and task id an actor is working on.

trio copies context variables into child tasks and `to_thread` workers, so
once a device actor sets them, every record logged on its behalf (driver
libraries' included) carries them through `ContextFilter`.
"""

from __future__ import annotations

import contextvars
import logging

current_serial: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "current_serial", default=None
)
current_task_id: contextvars.ContextVar[int | None] = contextvars.ContextVar(
    "current_task_id", default=None
)


class ContextFilter(logging.Filter):
    """Stamp `serial` and `task_id` on every record (None outside an actor)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.serial = current_serial.get()
        record.task_id = current_task_id.get()
        return True
