"""Argument types the commands share: each refuses bad input in one clear line."""

from __future__ import annotations

import argparse
import ipaddress
from pathlib import Path

MAX_SEQ = (1 << 63) - 1
# Far above any USB farm; each simulated phone costs an actor and a model.
MAX_SIMULATED_PHONES = 10_000


def port(text: str) -> int:
    value = _integer(text)
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError("must be 0 to 65535")
    return value


def non_negative(text: str) -> int:
    value = _integer(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def positive(text: str) -> int:
    value = _integer(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def phone_count(text: str) -> int:
    value = non_negative(text)
    if value > MAX_SIMULATED_PHONES:
        raise argparse.ArgumentTypeError(f"at most {MAX_SIMULATED_PHONES}")
    return value


def seq(text: str) -> int:
    """A sequence number or a task id: 0 to 2**63 - 1."""
    value = _integer(text)
    if not 0 <= value <= MAX_SEQ:
        raise argparse.ArgumentTypeError(f"must be 0 to {MAX_SEQ}")
    return value


def task_id(text: str) -> int:
    value = seq(text)
    if value == 0:
        raise argparse.ArgumentTypeError("must be a positive task id")
    return value


def data_dir(text: str) -> Path:
    if not text.strip():
        raise argparse.ArgumentTypeError("must not be empty")
    return Path(text).expanduser()


def host(text: str) -> str:
    """An IP address or "localhost": names are not resolved (no DNS here)."""
    if text.lower() == "localhost":
        return text
    try:
        ipaddress.ip_address(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not an IP address: {text!r} (use e.g. 127.0.0.1, 0.0.0.0 or ::1)"
        ) from None
    return text


def existing_dir(text: str) -> Path:
    path = data_dir(text)
    if not path.is_dir():
        raise argparse.ArgumentTypeError(f"no such folder: {text}")
    return path


def _integer(text: str) -> int:
    if not (text.isascii() and text.lstrip("-").isdigit()):
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}")
    return int(text)
