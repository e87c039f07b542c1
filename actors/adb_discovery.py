"""Find phones through the adb server and keep the fleet in step with them.

`watch_adb` holds one `host:track-devices` connection to the adb server
(through adbutils, in a worker thread). The server answers with the full
device list, then again after every change, one `serial\\tstate` line per
transport:

    0123456789ABCDEF\tdevice
    127.0.0.1:5555\toffline
    R58M123ABC\tunauthorized

Each list is reconciled with the fleet (`reconcile`): a serial in state
`device` that has no running actor gets one (`Fleet.attach`, which records
`DeviceConnected`); an attached serial that is gone or in any other state
is detached (`Fleet.detach`: its running task fails `device
disconnected`, then `DeviceDisconnected`). Comparing whole lists rather
than replaying adbutils' absent/present diff events makes a missed or
repeated list harmless.

phonefarm never starts an adb server itself: starting one writes
`~/.android/adbkey` and, with adb 36, sends mDNS multicast, which a server
started for a test or a demo must not do behind the user's back. When no
server answers, `watch_adb` logs one WARNING saying how to start one, runs
with zero phones, and looks again every `retry_s`.
"""

from __future__ import annotations

import logging
import math
import os
import socket
from collections.abc import Awaitable, Callable, Mapping

import adbutils
import trio

from phonefarm.actors.adb_driver import AdbPhone, read_model
from phonefarm.actors.driver import Driver
from phonefarm.actors.fleet import Fleet

log = logging.getLogger(__name__)

ADB_HOST = "127.0.0.1"  # never another host: the adb server is local
DEFAULT_ADB_PORT = 5037
RETRY_S = 5.0
POLL_S = 2.0  # see _follow_devices: adb 29 misses TCP phones' changes
MODEL_TIMEOUT_S = 5.0

MakeDriver = Callable[[str], Awaitable[Driver]]


def adb_client(port: int | None = None) -> adbutils.AdbClient:
    """A client of the local adb server; `port` defaults to $ANDROID_ADB_SERVER_PORT."""
    if port is None:
        port = int(os.environ.get("ANDROID_ADB_SERVER_PORT", DEFAULT_ADB_PORT))
    return adbutils.AdbClient(host=ADB_HOST, port=port)


def parse_device_list(output: str) -> dict[str, str]:
    """Parse one track-devices list into {serial: state} (see the module docstring)."""
    states = {}
    for line in output.splitlines():
        serial, sep, state = line.strip().partition("\t")
        if sep and serial:
            states[serial] = state.strip()
    return states


async def reconcile(
    fleet: Fleet,
    states: Mapping[str, str],
    make_driver: MakeDriver,
    attached: set[str],
) -> None:
    """Attach phones newly in state `device`; detach those gone or not ready.

    `attached` is the set of serials this watcher attached; it is updated.
    """
    for serial in sorted(attached - {s for s, st in states.items() if st == "device"}):
        attached.discard(serial)
        state = states.get(serial, "absent")
        log.info("device lost serial=%s state=%s", serial, state)
        await fleet.detach(serial, "device disconnected")
    for serial, state in sorted(states.items()):
        actor = fleet.actors.get(serial)
        if state == "device" and serial in attached and actor and not actor.online:
            # The actor met the loss itself (a failed call while adb said the
            # phone was gone) and adb reports it back: start afresh.
            attached.discard(serial)
        if state == "device" and serial not in attached:
            driver = await make_driver(serial)
            attached.add(serial)
            log.debug("device found serial=%s model=%s", serial, driver.model)
            await fleet.attach(driver)
        elif state == "unauthorized" and serial not in attached:
            log.warning(
                "device unauthorized serial=%s: accept the USB debugging prompt "
                "on the phone",
                serial,
            )


async def watch_adb(
    fleet: Fleet,
    client: adbutils.AdbClient | None = None,
    *,
    retry_s: float = RETRY_S,
    poll_s: float = POLL_S,
    make_driver: MakeDriver | None = None,
) -> None:
    """Keep one actor per online adb phone until cancelled; never raises for adb."""
    client = client or adb_client()
    make_driver = make_driver or _adb_phone_factory(client)
    attached: set[str] = set()
    warned = False
    while True:

        async def handle(states: dict[str, str]) -> None:
            nonlocal warned
            if warned:
                log.info("adb server reachable port=%d", client.port)
                warned = False
            await reconcile(fleet, states, make_driver, attached)

        try:
            await _follow_devices(client, handle, poll_s)
            reason = "the adb server closed the connection"
        except (adbutils.AdbError, OSError, EOFError, ValueError) as exc:
            reason = str(exc) or type(exc).__name__
        if not warned:
            log.warning(
                "no adb server at %s:%d (%s): running with no real phones; start "
                "one with `adb start-server` (it is looked for every %g s), or "
                "restart with --simulate 3 to try simulated phones",
                ADB_HOST,
                client.port,
                reason,
                retry_s,
            )
            warned = True
        await reconcile(fleet, {}, make_driver, attached)  # every phone is gone
        await trio.sleep(retry_s)


async def _follow_devices(
    client: adbutils.AdbClient,
    handle: Callable[[dict[str, str]], Awaitable[None]],
    poll_s: float,
) -> None:
    """Call `handle` with each device list the adb server reports, until it fails.

    Besides the tracker's lists, the list is asked for (`host:devices`)
    after every `poll_s` without news: Debian's adb 29 does not report a
    TCP phone (`adb connect`) going offline or coming back on
    track-devices, while `adb devices` shows both (seen with 29.0.6;
    adb 36 reports them).

    The connection's socket blocks in a worker thread. On cancellation the
    socket is shut down, which wakes the thread, and the thread is
    abandoned so the caller never waits for it. Raises the adb error that
    ended the connection ("connection closed" when the server exits).
    """
    send, receive = trio.open_memory_channel[dict[str, str] | BaseException](math.inf)
    connection: list[adbutils.AdbConnection] = []

    def blocking_reader() -> None:
        try:
            if not _server_listening(client.host, client.port):
                raise adbutils.AdbError("nothing listens on that port")
            c = client.make_connection(timeout=3)
            connection.append(c)
            c.send_command("host:track-devices")
            c.check_okay()
            c.conn.settimeout(None)  # a list comes only when something changes
            while True:
                states = parse_device_list(c.read_string_block())
                trio.from_thread.run_sync(send.send_nowait, states)
        except Exception as exc:  # handed to the trio side, which raises it
            try:
                trio.from_thread.run_sync(send.send_nowait, exc)
            except (trio.RunFinishedError, trio.BrokenResourceError):
                pass  # nobody listens any more: we were abandoned

    failure: BaseException | None = None
    async with trio.open_nursery() as nursery:
        nursery.start_soon(_run_abandonable, blocking_reader)
        try:
            while True:
                item: dict[str, str] | BaseException | None = None
                with trio.move_on_after(poll_s):
                    item = await receive.receive()
                if isinstance(item, BaseException):
                    failure = item
                    break
                if item is None:
                    # Quiet for `poll_s`: ask for the list. A list that the
                    # tracker delivered meanwhile is newer, so it wins.
                    try:
                        item = await trio.to_thread.run_sync(
                            _list_devices, client, abandon_on_cancel=True
                        )
                    except (adbutils.AdbError, OSError, EOFError, ValueError) as exc:
                        failure = exc
                        break
                    if receive.statistics().current_buffer_used:
                        continue
                await handle(item)
        finally:
            receive.close()
            for c in connection:
                _shutdown(c)
            nursery.cancel_scope.cancel()
    # Raised out here, not inside the nursery, so it is not wrapped in a group.
    if failure is not None:
        raise failure


async def _run_abandonable(fn: Callable[[], None]) -> None:
    await trio.to_thread.run_sync(fn, abandon_on_cancel=True)


def _list_devices(client: adbutils.AdbClient) -> dict[str, str]:
    if not _server_listening(client.host, client.port):
        raise adbutils.AdbError("nothing listens on that port")
    with client.make_connection(timeout=3) as c:
        c.send_command("host:devices")
        c.check_okay()
        return parse_device_list(c.read_string_block())


def _server_listening(host: str, port: int) -> bool:
    # A plain probe first: adbutils' make_connection runs `adb start-server`
    # when nothing answers, which phonefarm must not do (module docstring).
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def _shutdown(connection: adbutils.AdbConnection) -> None:
    try:
        connection.conn.shutdown(socket.SHUT_RDWR)
    except (OSError, adbutils.AdbError):
        pass
    connection.close()


def _adb_phone_factory(client: adbutils.AdbClient) -> MakeDriver:
    async def make(serial: str) -> Driver:
        device = client.device(serial)
        try:
            with trio.fail_after(MODEL_TIMEOUT_S):
                model = await trio.to_thread.run_sync(
                    read_model, device, abandon_on_cancel=True
                )
        except (trio.TooSlowError, adbutils.AdbError, OSError) as exc:
            log.warning("cannot read the model serial=%s error=%s", serial, exc)
            model = ""
        return AdbPhone(device, model=model)

    return make
