"""Errors raised by phonefarm, one tree under `PhonefarmError`.

    PhonefarmError
    ├── RequestError            the caller sent something we refuse
    │   ├── InvalidParameterError   40001, names the field
    │   ├── MissingScriptNameError  40002
    │   ├── UnsupportedScriptError  40003
    │   ├── NotFoundError           40401
    │   └── ConflictError           40901, the task's state forbids the action
    ├── StoreError              the event log could not do what was asked
    │   ├── StoreFullError          the disk or the map is full
    │   └── StoreLockedError        another process holds the data directory
    ├── DeviceError             a phone or its driver failed
    │   ├── DeviceDisconnectedError
    │   └── DriverTimeoutError      one driver call took longer than its bound
    └── ScriptError             a script could not finish its steps
        ├── ElementNotFoundError
        ├── MaterialNotFoundError
        ├── MaterialNotAllowedError  outside the configured material folders
        └── UploadTimeoutError      the app never said the upload finished

`http/errors.py` maps these classes to the envelope's codes, in one place.
"""

from __future__ import annotations


class PhonefarmError(Exception):
    """Root of every error phonefarm raises on purpose."""


class RequestError(PhonefarmError):
    """A request that is refused; nothing was changed."""


class InvalidParameterError(RequestError):
    """A parameter has the wrong type, value or combination."""

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}" if field else reason)


class MissingScriptNameError(RequestError):
    def __init__(self) -> None:
        super().__init__("script_name is required")


class UnsupportedScriptError(RequestError):
    def __init__(self, script_name: str) -> None:
        self.script_name = script_name
        super().__init__(f"script not supported: {script_name}")


class NotFoundError(RequestError):
    def __init__(self, what: str, key: object) -> None:
        self.what = what
        self.key = key
        super().__init__(f"{what} not found: {key}")


class ConflictError(RequestError):
    def __init__(self, message: str) -> None:
        super().__init__(message)


class StoreError(PhonefarmError):
    """The event log failed; the command that met it changed nothing."""


class StoreFullError(StoreError):
    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"store is full: {reason}")


class StoreLockedError(StoreError):
    def __init__(self, path: str) -> None:
        self.path = path
        super().__init__(
            f"data directory {path} is in use by another phonefarm process"
        )


class DeviceError(PhonefarmError):
    """A phone or its driver failed."""


class DeviceDisconnectedError(DeviceError):
    def __init__(self, serial: str) -> None:
        self.serial = serial
        super().__init__("device disconnected")


class DriverTimeoutError(DeviceError):
    """A driver call did not return in time: the phone or its agent hangs."""

    def __init__(self, call: str, timeout_s: float) -> None:
        self.call = call
        self.timeout_s = timeout_s
        super().__init__(f"driver call {call} timed out after {timeout_s:g} s")


class ScriptError(PhonefarmError):
    """A script step failed; the message is the task's `error`."""


class ElementNotFoundError(ScriptError):
    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"element not found: {name}")


class MaterialNotFoundError(ScriptError):
    def __init__(self, path: str) -> None:
        self.path = path
        super().__init__(f"material not found: {path}")


class MaterialNotAllowedError(ScriptError):
    """A material file lies outside every folder `serve --material-dir` allows.

    Refused before the file is looked at, so the message says nothing about
    whether it exists.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        super().__init__(f"material outside the material folders: {path}")


class UploadTimeoutError(ScriptError):
    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        super().__init__(f"upload not finished after {timeout_s:g} s")


class InvalidScriptNameError(MissingScriptNameError):
    """`script_name` is present but not a non-empty string (still 40002)."""

    def __init__(self) -> None:
        RequestError.__init__(self, "script_name must be a non-empty string")


class BodyTooLargeError(RequestError):
    """The request body is over the server's limit (41301)."""

    def __init__(self, limit_bytes: int) -> None:
        self.limit_bytes = limit_bytes
        super().__init__(f"request body is larger than {limit_bytes} bytes")


class DuplicateRequestError(RequestError):
    """A create request repeated under its `Idempotency-Key`: nothing new is made.

    Not a failure for the client: the answer is the original `task_ids`.
    """

    def __init__(self, key: str, task_ids: list[int]) -> None:
        self.key = key
        self.task_ids = task_ids
        super().__init__(f"request {key!r} was already carried out")


class UnauthorizedError(RequestError):
    """The server asks for an API token and the request has none, or another."""

    def __init__(self) -> None:
        super().__init__(
            "missing or wrong API token: send Authorization: Bearer <token>"
        )


class ApiDisabledError(RequestError):
    """The server runs with `--disable-api`, as TikMatrix's Starter plan does."""

    def __init__(self) -> None:
        super().__init__("API access is disabled on this server (serve --disable-api)")
