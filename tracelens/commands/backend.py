"""What the commands that read a source share: backend options, the fetch progress bar, notices.

    add_source_options(parser)                   # --source, auth, --limit, --sample, ...
    source = open_from_args(args, config)        # Jaeger/Tempo get the auth and pool options
    with FetchBar(stderr) as bar: ... fetch(ids, progress=bar.update)

Options win over the environment (TRACELENS_TOKEN, ...), which wins over tracelens.toml.
"""

from __future__ import annotations

import argparse
import logging
import os
import time
from collections.abc import Mapping
from types import TracebackType
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from tracelens.commands.options import positive_int, seconds
from tracelens.config import load_config
from tracelens.errors import UsageError
from tracelens.sources import Source, open_source
from tracelens.sources.http import BackendOptions, parse_headers

# The bar appears only for fetches that take longer than this.
BAR_DELAY_S = 1.0


def add_source_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--source",
        "-s",
        help="trace file, directory, - (stdin), jaeger+http(s)://host:16686[/prefix] or "
        "tempo+http(s)://host:3200[/prefix]; default: $TRACELENS_SOURCE, tracelens.toml, "
        "then the local store filled by `tracelens demo`",
    )
    g = p.add_argument_group("Jaeger and Tempo sources")
    g.add_argument(
        "--limit",
        type=positive_int,
        default=2000,
        metavar="N",
        help="requests to list per window, with their durations (2000)",
    )
    g.add_argument(
        "--sample",
        type=positive_int,
        default=1000,
        metavar="N",
        help="traces of the faster requests to fetch as the baseline sample (1000)",
    )
    g.add_argument(
        "--concurrency", type=positive_int, default=8, metavar="N", help="parallel requests (8)"
    )
    g.add_argument(
        "--timeout", type=seconds, default=60.0, metavar="S", help="read timeout per request (60)"
    )
    g.add_argument("--no-cache", action="store_true", help="fetch every trace again")
    g.add_argument("--token", help="bearer token (or $TRACELENS_TOKEN)")
    g.add_argument("--tenant", help="tenant: X-Scope-OrgID for Tempo, x-tenant for Jaeger")
    g.add_argument(
        "--header",
        action="append",
        default=[],
        metavar="'NAME: VALUE'",
        help="extra request header, repeatable",
    )
    g.add_argument("--insecure", action="store_true", help="do not verify TLS certificates")
    g.add_argument("--ca-bundle", metavar="FILE", help="CA certificates to verify TLS with")


def backend_options(args: argparse.Namespace, config: Mapping[str, Any]) -> BackendOptions:
    """The options of a Jaeger or Tempo source from the flags, the environment and the config."""
    if not 0 < args.timeout <= 3600:
        raise UsageError("--timeout is seconds, more than 0 and at most 3600")
    headers = dict(config.get("headers", {}))
    for text in args.header:
        headers.update(parse_headers(text, "--header"))
    from_config = {k: config.get(k) for k in ("token", "user", "password", "tenant", "ca_bundle")}
    options = BackendOptions.from_env(
        token=args.token,
        tenant=args.tenant,
        ca_bundle=args.ca_bundle,
        headers=headers,
        insecure=args.insecure or None,
        concurrency=args.concurrency,
        read_timeout_s=args.timeout,
        cache=False if args.no_cache else None,
    )
    fill = {k: v for k, v in from_config.items() if v and getattr(options, k) is None}
    if fill:
        from dataclasses import replace

        options = replace(options, **fill)
    return options


def config_defaults(args: argparse.Namespace, keys: tuple[str, ...]) -> Mapping[str, Any]:
    """tracelens.toml, with its settings filled into the options not given for `keys`.

    Options win, then $TRACELENS_SOURCE (read by open_source), then the file.
    """
    config = load_config()
    if os.environ.get("TRACELENS_SOURCE"):
        config = {k: v for k, v in config.items() if k != "source"}
    for key in keys:
        if getattr(args, key) is None and key in config:
            setattr(args, key, config[key])
    return config


def open_from_args(args: argparse.Namespace, config: Mapping[str, Any]) -> Source:
    return open_source(args.source, backend_options(args, config))


class FetchBar:
    """Fetch progress on stderr: "fetching traces 45/119 (3 failed, 12 cached)".

    A line of `progress` when given (the command's own spinner), else a display of its own; shown
    only once a fetch has run for a second, and silent when stderr is not a terminal.
    """

    def __init__(self, console: Console, progress: Progress | None = None) -> None:
        self.own = progress is None
        self.progress = progress or Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
            disable=not console.is_terminal,
        )
        self.task = self.progress.add_task("fetching traces", total=None, visible=False)
        self.began = time.monotonic()

    def update(self, done: int, failed: int, cached: int, total: int) -> None:
        notes = ", ".join(
            part for part in (f"{failed:,} failed" if failed else "", f"{cached:,} cached") if part
        )
        self.progress.update(
            self.task,
            description=f"fetching traces {done:,}/{total:,} ({notes})",
            visible=time.monotonic() - self.began >= BAR_DELAY_S,
        )

    def __enter__(self) -> FetchBar:
        self.began = time.monotonic()
        if self.own:
            self.progress.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.own:
            self.progress.stop()


class _StderrNotices(logging.Handler):
    """tracelens's notices ("jaeger: using api_v3 ...") as plain lines on stderr."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        # stderr=True: the stream is looked up at each notice, so a notice never goes to a
        # stream that has since been closed or replaced (a test's capture, a finished command).
        self.console = Console(stderr=True, highlight=False, emoji=False)

    def emit(self, record: logging.LogRecord) -> None:
        self.console.print(f"[dim]{escape(record.getMessage())}[/]", soft_wrap=True)


def show_notices() -> None:
    """Send the `tracelens` logger's notices to stderr, once per process."""
    logger = logging.getLogger("tracelens")
    if not any(isinstance(h, _StderrNotices) for h in logger.handlers):
        logger.addHandler(_StderrNotices())
        logger.setLevel(logging.INFO)
        logger.propagate = False
