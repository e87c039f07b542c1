"""`phonefarm serve`: the REST server with its phones, in one process."""

from __future__ import annotations

import argparse
import errno
import functools
import ipaddress
import logging
import os
import signal
import socket
import sys
import zoneinfo
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import hypercorn
import hypercorn.trio
import trio

from phonefarm.actors.runtime import RuntimeConfig, open_runtime
from phonefarm.core.errors import StoreError
from phonefarm.http.app import create_app
from phonefarm.http.auth import check_token
from phonefarm.http.params import MAX_BODY_BYTES
from phonefarm.tools import arguments
from phonefarm.tools.logs import configure_logging
from phonefarm.tools.paths import default_data_dir

if TYPE_CHECKING:
    from quart_trio import QuartTrio

log = logging.getLogger("phonefarm.serve")

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 50809
GRACEFUL_TIMEOUT_S = 1.0  # hypercorn's wait for open requests; fits a 2 s shutdown
# Off by default: hypercorn applies the read timeout to event streams too
# (their clients send nothing), which would cut them every so often.
READ_TIMEOUT_S = 0
TOKEN_ENV = "PHONEFARM_TOKEN"


def add_parser(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = commands.add_parser("serve", help="run the REST server and its phones")
    parser.add_argument(
        "--host",
        type=arguments.host,
        default=DEFAULT_HOST,
        help="IP address to bind, or localhost (%(default)s)",
    )
    parser.add_argument(
        "--port", type=arguments.port, default=DEFAULT_PORT, help="port (%(default)s)"
    )
    parser.add_argument(
        "--data-dir",
        type=arguments.data_dir,
        default=None,
        help=f"where the event log lives (default: {default_data_dir()})",
    )
    parser.add_argument(
        "--simulate",
        type=arguments.phone_count,
        default=0,
        metavar="N",
        help="run N simulated phones (no hardware needed)",
    )
    parser.add_argument(
        "--platform",
        choices=("tiktok", "instagram"),
        default="tiktok",
        help="app a device-mode task drives when no account says otherwise",
    )
    parser.add_argument(
        "--timezone",
        type=_timezone,
        default=None,
        help="IANA time zone that start_time is read in (default: the machine's)",
    )
    parser.add_argument(
        "--material-dir",
        type=arguments.existing_dir,
        action="append",
        default=None,
        help="folder post may read materials from (repeatable; default: any)",
    )
    parser.add_argument(
        "--token",
        default=None,
        help=f"require 'Authorization: Bearer TOKEN' on every request "
        f"(default: ${TOKEN_ENV}; required with a --host other than loopback)",
    )
    parser.add_argument(
        "--disable-api",
        action="store_true",
        help="answer 40301 to everything but /health and /metrics, as "
        "TikMatrix's Starter plan does",
    )
    parser.add_argument(
        "--max-body",
        type=arguments.positive,
        default=MAX_BODY_BYTES,
        metavar="BYTES",
        help="largest request body accepted (%(default)s)",
    )
    parser.add_argument(
        "--read-timeout",
        type=arguments.non_negative,
        default=READ_TIMEOUT_S,
        metavar="SECONDS",
        help="close a connection whose client sent nothing for this long (idle "
        "keep-alives, stalled bodies, and event streams, which clients then "
        "resume with Last-Event-ID); 0, the default, never",
    )
    parser.add_argument(
        "--log-level", default="info", choices=("debug", "info", "warning", "error")
    )
    parser.add_argument("--log-json", action="store_true", help="log JSON lines")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    token = args.token if args.token is not None else os.environ.get(TOKEN_ENV) or None
    refusal = _access_refusal(args.host, token, args.material_dir)
    if refusal is not None:
        return _fail(refusal)
    make_app = functools.partial(
        create_app,
        token=token,
        disable_api=args.disable_api,
        max_body_bytes=args.max_body,
    )
    adb_port = os.environ.get("ANDROID_ADB_SERVER_PORT")
    if args.simulate == 0 and adb_port is not None and not _is_port(adb_port):
        # adbutils reads it when imported and would fail with a traceback.
        return _fail(f"ANDROID_ADB_SERVER_PORT={adb_port!r} is not a port (1-65535)")
    configure_logging(args.log_level, json_lines=args.log_json)
    data_dir = (args.data_dir or default_data_dir()).expanduser().absolute()
    config = RuntimeConfig(
        data_dir=data_dir,
        simulate=args.simulate,
        adb=args.simulate == 0,  # real phones, unless simulated ones were asked for
        platform=args.platform,
        timezone=args.timezone,
        material_dirs=tuple(p.absolute() for p in args.material_dir)
        if args.material_dir
        else None,
    )
    try:
        listener = _bind(args.host, args.port)
    except OSError as exc:
        return _fail(f"cannot listen on {args.host}:{args.port}: {_reason(exc)}")
    # Startup errors arrive inside exception groups, from the nurseries.
    failure: StoreError | None = None
    try:
        trio.run(_serve, config, listener, make_app, args.read_timeout)
    except* StoreError as group:
        failure = group.exceptions[0]  # type: ignore[assignment]
    return 0 if failure is None else _fail(str(failure))


async def _serve(
    config: RuntimeConfig,
    listener: socket.socket,
    make_app: Callable[..., QuartTrio],
    read_timeout_s: int,
) -> None:
    host, port = listener.getsockname()[:2]
    async with open_runtime(config) as runtime:
        hyper_config = hypercorn.Config()
        # hypercorn takes ownership of the descriptor and closes it.
        hyper_config.bind = [f"fd://{listener.detach()}"]
        hyper_config.graceful_timeout = GRACEFUL_TIMEOUT_S
        # hypercorn's trio worker does not close idle keep-alive connections
        # by itself (0.18); without a read timeout, idle or stalled clients
        # would hold their sockets until the server runs out of them.
        hyper_config.read_timeout = read_timeout_s or None
        hyper_config.accesslog = None
        hyper_config.errorlog = logging.getLogger("hypercorn.error")
        shutdown = trio.Event()
        served = trio.Event()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_shutdown_on_signal, shutdown)
            await nursery.start(
                _serve_http,
                make_app(runtime, stopping=shutdown),
                hyper_config,
                shutdown,
                served,
            )
            log.info(
                "phonefarm listening url=http://%s:%s/api/v1 data_dir=%s phones=%d",
                _url_host(host),
                port,
                config.data_dir,
                len(runtime.fleet.actors),
            )
            if not runtime.fleet.actors:
                log.info(
                    "no phones yet: plug one in over USB with USB debugging on "
                    "(phonefarm watches adb for it), or restart with --simulate 3 "
                    "to try it with simulated phones"
                )
            await shutdown.wait()
            with trio.move_on_after(GRACEFUL_TIMEOUT_S + 0.5):
                await served.wait()
            nursery.cancel_scope.cancel()
        log.info("phonefarm stopping")
    log.info("phonefarm stopped")


async def _serve_http(
    app: object,
    config: hypercorn.Config,
    shutdown: trio.Event,
    served: trio.Event,
    *,
    task_status: trio.TaskStatus[list[str]] = trio.TASK_STATUS_IGNORED,
) -> None:
    try:
        await hypercorn.trio.serve(
            app,  # type: ignore[arg-type]
            config,
            shutdown_trigger=shutdown.wait,
            task_status=task_status,
        )
    finally:
        served.set()


async def _shutdown_on_signal(shutdown: trio.Event) -> None:
    # trio turns SIGINT into KeyboardInterrupt wherever it lands; receiving
    # the signals here instead makes Ctrl-C and SIGTERM the same clean stop.
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for signum in signals:
            if shutdown.is_set():
                log.warning("second %s: exiting now", signal.Signals(signum).name)
                sys.exit(130)
            log.info("shutdown requested signal=%s", signal.Signals(signum).name)
            shutdown.set()


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(1024)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def _access_refusal(
    host: str, token: str | None, material_dirs: list[Path] | None
) -> str | None:
    """Why the server must not start with these settings, or None."""
    if token is not None:
        try:
            check_token(token)
        except ValueError as exc:
            return str(exc)
    if _is_loopback(host):
        return None
    missing = []
    if token is None:
        missing.append(f"--token TOKEN (or ${TOKEN_ENV})")
    if not material_dirs:
        missing.append("--material-dir DIR")
    if not missing:
        return None
    return (
        f"--host {host} is reachable from other machines: "
        f"it needs {' and '.join(missing)}"
    )


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _reason(exc: OSError) -> str:
    if exc.errno == errno.EADDRINUSE:
        return "address already in use (is another phonefarm or TikMatrix running?)"
    return exc.strerror or str(exc)


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _fail(message: str) -> int:
    print(f"phonefarm: {message}", file=sys.stderr)
    return 1


def _is_port(text: str) -> bool:
    return text.isascii() and text.isdigit() and 0 < int(text) < 65536


def _timezone(text: str) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(text)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise argparse.ArgumentTypeError(f"unknown time zone {text!r}") from exc
