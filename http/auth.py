"""The checks every request passes before its handler sees the body.

In API.md's order: the API token (40101), `--disable-api` (40301, for
everything but `/health` and `/metrics`), the route and method (40401,
405), then the declared body size (41301). They run in one
`before_request` hook, which quart calls after routing has been tried but
before the routing error is raised, so the hook decides the order itself.
A chunked body has no declared size; `read_json_object` counts it as it
arrives.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from quart import request
from quart_trio import QuartTrio

from phonefarm.core.errors import ApiDisabledError, BodyTooLargeError, UnauthorizedError
from phonefarm.http.openapi import API_PREFIX
from phonefarm.http.params import MAX_BODY_BYTES

ALWAYS_ENABLED_PATHS = frozenset({f"{API_PREFIX}/health", f"{API_PREFIX}/metrics"})
_EXTENSION_KEY = "phonefarm.access"


@dataclass(frozen=True)
class AccessPolicy:
    """What a request must satisfy; `token` None means no token is asked for."""

    token: str | None = None
    disable_api: bool = False
    max_body_bytes: int = MAX_BODY_BYTES

    def __post_init__(self) -> None:
        if self.token is not None:
            check_token(self.token)
        if self.max_body_bytes < 1:
            raise ValueError("max_body_bytes must be at least 1")


def check_token(token: str) -> None:
    """Refuse a token a client could not send in an Authorization header."""
    if not token:
        raise ValueError("the API token must not be empty")
    if not all("!" <= char <= "~" for char in token):
        raise ValueError(
            "the API token must be printable ASCII without spaces (! to ~)"
        )


def install_access_checks(app: QuartTrio, policy: AccessPolicy) -> None:
    app.extensions[_EXTENSION_KEY] = policy
    # Comparing digests keeps the comparison's time independent of the
    # token's length as well as of its contents.
    expected = None if policy.token is None else _digest(policy.token.encode())

    async def check_access() -> None:
        if expected is not None and not _authorized(expected):
            raise UnauthorizedError()
        if policy.disable_api and request.path not in ALWAYS_ENABLED_PATHS:
            raise ApiDisabledError()
        if request.routing_exception is not None:
            raise request.routing_exception
        declared = request.content_length
        if declared is not None and declared > policy.max_body_bytes:
            raise BodyTooLargeError(policy.max_body_bytes)
        return None

    app.before_request(check_access)


def access_policy(app: QuartTrio) -> AccessPolicy:
    policy = app.extensions.get(_EXTENSION_KEY)
    return policy if isinstance(policy, AccessPolicy) else AccessPolicy()


def _authorized(expected: bytes) -> bool:
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    given = credentials.strip() if scheme.lower() == "bearer" else ""
    # Header values arrive decoded as latin-1, so encoding them back is lossless.
    return hmac.compare_digest(_digest(given.encode("latin-1")), expected)


def _digest(value: bytes) -> bytes:
    return hashlib.sha256(value).digest()
