"""One HTTP connection to a tracing backend: `Backend(spec, options).get_json(path, params)`.

Everything that talks to Jaeger or Tempo goes through here, so the things users rely on hold for
both: one pooled keep-alive `requests.Session`; connect and read timeouts on every request;
retries with exponential backoff and jitter on connection errors, timeouts, 429 (honouring
`Retry-After`) and 5xx, done by urllib3's `Retry`; credentials from the URL, the options or the
environment, never shown: every message passes through `redact`, and URLs are printed without
their user info. A failure becomes a `SourceError` naming the (redacted) URL and the likely fix.
"""

from __future__ import annotations

import logging
import os
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import msgspec
import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from tracelens.errors import SourceError, UsageError

log = logging.getLogger("tracelens")

# Longest Retry-After tracelens waits: a server asking for an hour would otherwise hang the run.
MAX_RETRY_AFTER_S = 30.0


@dataclass(frozen=True, slots=True)
class BackendOptions:
    """How to reach a backend: auth, TLS, timeouts, concurrency and the trace cache.

    `from_env()` fills what the environment sets (TRACELENS_TOKEN, TRACELENS_USER,
    TRACELENS_PASSWORD, TRACELENS_TENANT, TRACELENS_HEADERS as "Name: value" lines or
    `;`-separated, TRACELENS_CA_BUNDLE, TRACELENS_RETRY_BACKOFF as the first back-off in
    seconds); explicit values win.
    """

    token: str | None = field(default=None, repr=False)  # bearer token
    user: str | None = None  # basic auth (also taken from user:password@ in the URL)
    password: str | None = field(default=None, repr=False)
    tenant: str | None = None  # X-Scope-OrgID for Tempo, x-tenant for Jaeger
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    insecure: bool = False
    ca_bundle: str | None = None
    connect_timeout_s: float = 5.0
    read_timeout_s: float = 60.0  # Jaeger searches on big stores take tens of seconds
    retries: int = 4
    backoff_s: float = 0.25  # first back-off; doubles each retry, plus up to as much jitter
    concurrency: int = 8
    cache: bool = True
    cache_dir: str | None = None  # default: the user cache dir (TRACELENS_CACHE_DIR)

    @classmethod
    def from_env(cls, **explicit: Any) -> BackendOptions:
        env = os.environ
        found: dict[str, Any] = {
            "token": env.get("TRACELENS_TOKEN") or None,
            "user": env.get("TRACELENS_USER") or None,
            "password": env.get("TRACELENS_PASSWORD") or None,
            "tenant": env.get("TRACELENS_TENANT") or None,
            "ca_bundle": env.get("TRACELENS_CA_BUNDLE") or None,
            "cache_dir": env.get("TRACELENS_CACHE_DIR") or None,
            "headers": parse_headers(env.get("TRACELENS_HEADERS", ""), "TRACELENS_HEADERS"),
        }
        if backoff := env.get("TRACELENS_RETRY_BACKOFF"):
            try:
                found["backoff_s"] = float(backoff)
            except ValueError:
                raise UsageError(f"TRACELENS_RETRY_BACKOFF={backoff!r} is not seconds") from None
            if not 0 <= found["backoff_s"] <= 60:
                raise UsageError("TRACELENS_RETRY_BACKOFF is seconds, from 0 to 60")
        headers = {**found["headers"], **dict(explicit.pop("headers", None) or {})}
        found.update({k: v for k, v in explicit.items() if v is not None})
        found["headers"] = headers
        return cls(**found)


def parse_headers(text: str, where: str) -> dict[str, str]:
    """`"X-Scope-OrgID: acme; X-Team: sre"` (or one per line) -> a dict; bad -> UsageError."""
    out: dict[str, str] = {}
    for item in text.replace("\n", ";").split(";"):
        if not item.strip():
            continue
        name, sep, value = item.partition(":")
        if not sep or not name.strip() or any(c.isspace() for c in name.strip()):
            raise UsageError(f"{where}: {item.strip()[:40]!r} is not a header; write 'Name: value'")
        out[name.strip()] = value.strip()
    return out


class _Retry(Retry):
    """urllib3's Retry with the server's Retry-After capped, so one answer cannot stall a run."""

    def get_retry_after(self, response: Any) -> float | None:
        seconds = super().get_retry_after(response)
        return None if seconds is None else min(seconds, MAX_RETRY_AFTER_S)


class HTTPFailure(Exception):
    """One request that failed after its retries: `reason` is short and countable ("HTTP 503")."""

    def __init__(self, reason: str, detail: str, status: int | None = None) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail
        self.status = status


class Backend:
    """A backend's base URL with its session; `kind` is "jaeger" or "tempo" for messages."""

    def __init__(self, spec: str, kind: str, options: BackendOptions) -> None:
        scheme, _, rest = spec.partition("+")
        parts = urlsplit(rest)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise UsageError(
                f"{redact_url(spec)}: not a {kind} URL; write {kind}+http://host:port[/prefix] "
                f"or {kind}+https://…"
            )
        self.kind = kind
        self.options = options
        user = unquote(parts.username) if parts.username else options.user
        password = unquote(parts.password) if parts.password else options.password
        netloc = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
        if parts.port:
            netloc += f":{parts.port}"
        self.base = urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))
        # What users see: the spec as typed, without credentials.
        self.display = f"{scheme}+{self.base}"
        self.secrets = tuple(
            s
            for s in (options.token, password, *_secret_headers(options.headers))
            if s and len(s) >= 3
        )
        self.session = requests.Session()
        self.session.trust_env = False  # proxies and netrc from the environment are not asked for
        retry = _Retry(
            total=options.retries,
            connect=options.retries,
            read=options.retries,
            status=options.retries,
            other=0,
            backoff_factor=options.backoff_s,
            backoff_jitter=options.backoff_s,
            backoff_max=10.0,
            status_forcelist=(429, 500, 502, 503, 504),
            allowed_methods=frozenset({"GET"}),
            respect_retry_after_header=True,
            raise_on_status=False,
        )
        adapter = HTTPAdapter(
            pool_connections=1,
            pool_maxsize=max(1, options.concurrency),
            pool_block=True,
            max_retries=retry,
        )
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.headers["User-Agent"] = "tracelens"
        self.session.headers["Accept"] = "application/json"
        if options.token:
            self.session.headers["Authorization"] = f"Bearer {options.token}"
        elif user is not None:
            self.session.auth = (user, password or "")
        self.session.headers.update(dict(options.headers))
        if options.insecure:
            self.session.verify = False
            # Asked for: said once here rather than warned by urllib3 on every request.
            urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
            log.info("%s: TLS certificates are not verified (--insecure)", self.display)
        elif options.ca_bundle:
            if not os.path.isfile(options.ca_bundle):
                raise UsageError(f"--ca-bundle {options.ca_bundle}: no such file")
            self.session.verify = options.ca_bundle

    def url(self, path: str) -> str:
        return self.base + path

    def redact(self, text: str) -> str:
        """`text` with every credential replaced by ***."""
        for secret in self.secrets:
            text = text.replace(secret, "***").replace(quote(secret, safe=""), "***")
        return redact_url(text)

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> requests.Response:
        """The response to GET path (any status); HTTPFailure when no response came."""
        try:
            return self._get_once(path, params)
        except HTTPFailure as e:
            # urllib3's retries end once the headers arrive, so a body cut off after them (a
            # proxy or a backend restarting mid-answer) is asked for once more here.
            if e.reason != "truncated responses":
                raise
        return self._get_once(path, params)

    def _get_once(self, path: str, params: Mapping[str, Any] | None) -> requests.Response:
        try:
            response = self.session.get(
                self.url(path),
                params=params,
                timeout=(self.options.connect_timeout_s, self.options.read_timeout_s),
            )
            response.content  # noqa: B018 - read the body here, where its errors are caught
            return response
        except requests.exceptions.SSLError as e:
            raise HTTPFailure(
                "TLS error",
                f"TLS failed ({_root_cause(e)}); pass --ca-bundle FILE for a private CA, "
                "or --insecure",
            ) from None
        except requests.exceptions.ConnectTimeout:
            raise HTTPFailure(
                "timeouts", f"no connection within {self.options.connect_timeout_s:g} s"
            ) from None
        except requests.exceptions.ReadTimeout:
            raise HTTPFailure(
                "timeouts", f"no answer within {self.options.read_timeout_s:g} s"
            ) from None
        except (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError):
            raise HTTPFailure("truncated responses", "the response was cut off") from None
        except requests.exceptions.ConnectionError as e:
            raise HTTPFailure("connection errors", _connection_hint(e, self.kind)) from None
        except requests.exceptions.RequestException as e:
            raise HTTPFailure("request errors", self.redact(str(e))) from None

    def get_json(
        self, path: str, params: Mapping[str, Any] | None = None, *, missing_ok: bool = False
    ) -> Any:
        """The decoded JSON body of a 200; None for 404 when `missing_ok`; SourceError else."""
        try:
            response = self.get(path, params)
        except HTTPFailure as e:
            raise SourceError(f"{self.display}{path}: {e.detail}") from None
        if response.status_code == 404 and missing_ok:
            return None
        return self.decode(response, path)

    def decode(self, response: requests.Response, path: str) -> Any:
        """The JSON of a successful response, or SourceError saying what came back instead."""
        where = f"{self.display}{path}"
        failure = self.failure(response)
        if failure is not None:
            raise SourceError(f"{where}: {failure.detail}")
        try:
            return msgspec.json.decode(response.content)
        except RecursionError:
            raise SourceError(f"{where}: the response is JSON nested too deeply to read") from None
        except msgspec.DecodeError:
            raise SourceError(
                f"{where}: the response is not JSON ({_preview(response)}); "
                f"is this the {self.kind} query API?"
            ) from None

    def failure(self, response: requests.Response) -> HTTPFailure | None:
        """What is wrong with a response, with the likely fix; None for a JSON-looking 200."""
        status = response.status_code
        body = response.content[:512].decode("utf-8", "replace").strip()
        if _is_html(response):
            return HTTPFailure(
                "HTML pages",
                f"HTTP {status} gave an HTML page, not the API (a login page or the UI?); "
                "check the path prefix and the credentials",
                status,
            )
        if status == 200:
            return None
        reason = f"HTTP {status}"
        if status in (401, 403):
            if "no org id" in body.lower():
                hint = "the backend is multi-tenant: pass --tenant ORG (sent as X-Scope-OrgID)"
            elif "tenant" in body.lower():
                hint = "the backend is multi-tenant: pass --tenant NAME (sent as x-tenant)"
            elif self.secrets:
                hint = "the credentials were refused; check --token / user:password"
            else:
                hint = (
                    "credentials required: --token, user:password@ in the URL, or TRACELENS_TOKEN"
                )
            return HTTPFailure(reason, f"{reason} {_message(body)}: {hint}", status)
        if status == 404 and body.lower().startswith("404 page not found"):
            return HTTPFailure(
                reason, f"{reason}: no such API path; check the URL's path prefix", status
            )
        return HTTPFailure(
            reason, f"{reason}: {self.redact(_message(body)) or 'no message'}", status
        )


def _secret_headers(headers: Mapping[str, str]) -> list[str]:
    """Header values that are credentials: Authorization and anything named like a key."""
    return [
        v
        for k, v in headers.items()
        if any(word in k.lower() for word in ("auth", "token", "key", "secret", "cookie"))
    ]


def redact_url(text: str) -> str:
    """URLs in `text` without user:password@."""
    out = []
    for word in text.split(" "):
        if "://" in word and "@" in word.split("://", 1)[1].split("/", 1)[0]:
            head, rest = word.split("://", 1)
            word = f"{head}://{rest.split('@', 1)[1]}"
        out.append(word)
    return " ".join(out)


def _is_html(response: requests.Response) -> bool:
    kind = response.headers.get("Content-Type", "").lower()
    head = response.content[:200].lstrip().lower()
    return "text/html" in kind or head.startswith((b"<!doctype html", b"<html"))


def _message(body: str) -> str:
    """The error message inside a JSON error body (Jaeger v1/v3 shapes), else the text itself."""
    try:
        doc = msgspec.json.decode(body.encode())
    except msgspec.DecodeError:
        return body.splitlines()[0][:200] if body else ""
    if isinstance(doc, dict):
        errors = doc.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            return str(errors[0].get("msg", ""))[:200]
        error = doc.get("error")
        if isinstance(error, dict):
            return str(error.get("message", ""))[:200]
    return body[:200]


def _preview(response: requests.Response) -> str:
    text = response.content[:60].decode("utf-8", "replace").strip()
    return f"HTTP {response.status_code}, starts {text!r}" if text else "an empty body"


def _root_cause(e: BaseException) -> str:
    while e.__context__ is not None or e.__cause__ is not None:
        e = e.__cause__ or e.__context__  # type: ignore[assignment]
    if isinstance(e, ssl.SSLCertVerificationError):
        return e.verify_message or "certificate not trusted"
    return str(e).split("] ")[-1][:120] or type(e).__name__


def _connection_hint(e: BaseException, kind: str) -> str:
    cause = _root_cause(e)
    low = cause.lower()
    if "refused" in low:
        port = "16686 for the Jaeger query service" if kind == "jaeger" else "3200 for Tempo"
        return f"connection refused; is the host and port right ({port})?"
    if "name or service not known" in low or "nodename nor servname" in low or "resolve" in low:
        return "the host name does not resolve; check the URL"
    if "reset" in low or "aborted" in low or "remote end closed" in low:
        return "the connection was reset by the server"
    return f"can't connect ({cause})"
