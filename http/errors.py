"""Error classes → envelope codes and HTTP statuses, in this one place.

    code   status  raised as
    40001  400     InvalidParameterError, any other RequestError, HTTP 400s
    40001  405     a known route with the wrong method (MethodNotAllowed)
    40002  400     MissingScriptNameError (and InvalidScriptNameError)
    40003  400     UnsupportedScriptError
    40101  401     UnauthorizedError (with WWW-Authenticate: Bearer)
    40301  403     ApiDisabledError
    40401  404     NotFoundError, an unknown route (NotFound)
    40901  409     ConflictError
    41301  413     BodyTooLargeError, RequestEntityTooLarge
    50001  500     StoreError, anything unexpected: `data.request_id` is also
                   on the ERROR log line, which carries the traceback

Quart answers its own HTTP errors in HTML; the handlers registered here
turn every one of them into the envelope, so no response is ever HTML and
no traceback ever reaches a client.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable

from quart import Response, current_app, request
from quart_trio import QuartTrio
from werkzeug.exceptions import (
    HTTPException,
    MethodNotAllowed,
    NotFound,
    RequestEntityTooLarge,
)

from phonefarm.core.errors import (
    ApiDisabledError,
    BodyTooLargeError,
    ConflictError,
    InvalidParameterError,
    MissingScriptNameError,
    NotFoundError,
    RequestError,
    StoreError,
    UnauthorizedError,
    UnsupportedScriptError,
)
from phonefarm.http.envelope import envelope_response

log = logging.getLogger(__name__)

INVALID_PARAMETER = 40001
INTERNAL_ERROR = 50001

# Most specific first: the first class an error is an instance of wins.
_REQUEST_ERRORS: tuple[tuple[type[RequestError], int, int], ...] = (
    (InvalidParameterError, INVALID_PARAMETER, 400),
    (MissingScriptNameError, 40002, 400),
    (UnsupportedScriptError, 40003, 400),
    (UnauthorizedError, 40101, 401),
    (ApiDisabledError, 40301, 403),
    (NotFoundError, 40401, 404),
    (ConflictError, 40901, 409),
    (BodyTooLargeError, 41301, 413),
    (RequestError, INVALID_PARAMETER, 400),
)

_HTTP_ERRORS: tuple[tuple[type[HTTPException], int, int], ...] = (
    (NotFound, 40401, 404),
    (MethodNotAllowed, INVALID_PARAMETER, 405),
    (RequestEntityTooLarge, 41301, 413),
)


def code_for(error: BaseException) -> tuple[int, int]:
    """The envelope code and HTTP status an error is answered with."""
    for table in (_REQUEST_ERRORS, _HTTP_ERRORS):
        for cls, code, status in table:
            if isinstance(error, cls):
                return code, status
    if isinstance(error, HTTPException) and error.code is not None and error.code < 500:
        return INVALID_PARAMETER, error.code
    return INTERNAL_ERROR, 500


def register_error_handlers(app: QuartTrio) -> None:
    app.register_error_handler(RequestError, _request_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _internal_error)


async def _request_error(error: RequestError) -> Response:
    code, status = code_for(error)
    headers = None
    if isinstance(error, UnauthorizedError):
        headers = {"WWW-Authenticate": 'Bearer realm="phonefarm"'}
    return envelope_response(code, str(error), status=status, headers=headers)


async def _http_error(error: HTTPException) -> Response:
    code, status = code_for(error)
    if code == INTERNAL_ERROR:
        return _internal(error, "internal error")
    headers = None
    if isinstance(error, MethodNotAllowed):
        allowed = _served_methods(error.valid_methods or ())
        headers = {"Allow": ", ".join(allowed)}
        message = (
            f"method {request.method} not allowed here; allowed: {', '.join(allowed)}"
        )
    elif isinstance(error, NotFound):
        message = f"no such resource: {request.path}"
    elif isinstance(error, RequestEntityTooLarge):
        limit = request.max_content_length
        message = f"request body is larger than {limit} bytes"
    else:
        message = (error.description or error.name).strip()
    return envelope_response(code, message, status=status, headers=headers)


def _served_methods(candidates: Iterable[str]) -> list[str]:
    """The methods that would really be served at this path.

    werkzeug lists every rule whose pattern matches the path, before their
    converters run: `POST /task/stats` would offer DELETE, from
    `/task/<task_id>`, although `stats` is never a task id.
    """
    adapter = current_app.create_url_adapter(request)
    served = []
    for method in sorted(candidates):
        try:
            adapter.match(request.path, method=method)
        except HTTPException:
            continue
        served.append(method)
    return served


async def _internal_error(error: Exception) -> Response:
    if isinstance(error, StoreError):
        # A store error says why (a full disk) and reveals no internals.
        return _internal(error, f"internal error: {error}")
    return _internal(error, "internal error")


def _internal(error: BaseException, message: str) -> Response:
    request_id = uuid.uuid4().hex
    log.error(
        "request failed request_id=%s method=%s path=%s",
        request_id,
        request.method,
        request.path,
        exc_info=error,
    )
    return envelope_response(
        INTERNAL_ERROR, message, {"request_id": request_id}, status=500
    )
