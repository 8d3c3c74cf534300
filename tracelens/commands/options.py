"""Option values as argparse types, one per kind: `type=positive_int`, `type=percentile`, ...

Each rejects a value that makes no sense with a message naming the accepted range; argparse adds
the option's name and exits 2, as for any usage error. Values that only make sense together
(`--percentile` above `--baseline`) and values that may come from tracelens.toml (`--slo`) are
checked where they are used, with the same wording (`positive_duration_ns`).
"""

from __future__ import annotations

import argparse
import math
import re
from urllib.parse import urlsplit

from tracelens.errors import UsageError
from tracelens.timespec import parse_duration_ns

MIN_RESAMPLES = 100  # fewer bootstrap resamples give intervals that move from run to run


def _whole(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None


def positive_int(text: str) -> int:
    """A whole number, 1 or more."""
    value = _whole(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not 1 or more")
    return value


def whole_number(text: str) -> int:
    """A whole number, 0 or more (seeds)."""
    value = _whole(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} is not 0 or more")
    return value


def resamples(text: str) -> int:
    """Bootstrap resamples: enough for a 95% interval to mean something."""
    value = _whole(text)
    if value < MIN_RESAMPLES:
        raise argparse.ArgumentTypeError(f"{value} is too few: use {MIN_RESAMPLES} or more")
    return value


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return value


def percentile(text: str) -> float:
    """A percentile strictly between 0 and 100 (the slow set's cut)."""
    value = _number(text)
    if not 0 < value < 100:
        raise argparse.ArgumentTypeError(f"{text} is not between 0 and 100")
    return value


def baseline_percentile(text: str) -> float:
    """A percentile above 0 and up to 100 (100: every request is baseline)."""
    value = _number(text)
    if not 0 < value <= 100:
        raise argparse.ArgumentTypeError(f"{text} is not above 0 and at most 100")
    return value


def seconds(text: str) -> float:
    """A positive, finite number of seconds (timeouts)."""
    value = _number(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text} is not more than 0 seconds")
    return value


def web_url(text: str) -> str:
    """An http(s) URL with a host: where trace links point."""
    parts = urlsplit(text.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise argparse.ArgumentTypeError(f"{text!r} is not an http(s) URL, e.g. http://host:16686")
    return text.strip()


_SCHEDULER = re.compile(
    r"^(?:(?:tcp|tls|ucx|ws|wss)://)?(?:\[[0-9A-Fa-f:.]+\]|[^\s/:\[\]]+)(?::\d+)?/?$"
)


def scheduler_address(text: str) -> str:
    """A Dask scheduler's address: tcp://host:8786, tls://host:8786 or host:port."""
    if not _SCHEDULER.match(text.strip()):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a Dask scheduler address, e.g. tcp://10.0.0.5:8786"
        )
    return text.strip()


def positive_duration_ns(option: str, text: str) -> int:
    """A duration more than zero (`--slo 3s`), as a UsageError naming the option otherwise."""
    try:
        value = parse_duration_ns(str(text))
    except UsageError as e:
        raise UsageError(f"{option}: {e}") from None
    if value <= 0:
        raise UsageError(f"{option}: {text!r} is not more than 0, e.g. {option} 3s")
    return value
