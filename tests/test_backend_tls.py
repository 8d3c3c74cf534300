"""TLS to a backend: verified by default, against `--ca-bundle` for a private CA, or not at all with
`--insecure`; a certificate that is not trusted is one clear line, never a traceback."""

from __future__ import annotations

import shutil
import ssl
import subprocess
from pathlib import Path

import pytest

from tests.backend_corpus import (  # noqa: F401 - the *_fixture names are fixtures
    Corpus,
    corpus_fixture,
    isolated_fixture,
    slowest,
)
from tests.fakes import FakeTempo

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")


@pytest.fixture(name="tls")
def tls_fixture(tmp_path: Path) -> tuple[ssl.SSLContext, Path]:
    """A server context with a self-signed certificate for 127.0.0.1, and that certificate."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context, cert


def test_an_untrusted_certificate_is_refused_with_the_fix_named(corpus: Corpus, tls, capsys):
    context, _ = tls
    with FakeTempo(corpus.traces, tls=context) as tempo:
        run = slowest(capsys, "tempo+" + tempo.url)
    assert run.code == 1
    line = run.error()
    assert tempo.url.split("://")[1] in line
    assert "--ca-bundle" in line
    assert "--insecure" in line


def test_a_private_ca_bundle_verifies_the_backend(corpus: Corpus, tls, capsys):
    context, cert = tls
    with FakeTempo(corpus.traces, tls=context) as tempo:
        run = slowest(capsys, "tempo+" + tempo.url, "--ca-bundle", str(cert))
        seen = len(tempo.requests_log)
    assert run.code == 0, run.err
    assert seen > 0
    assert "Why is result slow?" in run.out


def test_insecure_skips_verification(corpus: Corpus, tls, capsys):
    context, _ = tls
    with FakeTempo(corpus.traces, tls=context) as tempo:
        run = slowest(capsys, "tempo+" + tempo.url, "--insecure")
    assert run.code == 0, run.err


def test_a_missing_ca_bundle_is_a_usage_error(corpus: Corpus, tmp_path: Path, capsys):
    with FakeTempo(corpus.traces) as tempo:
        run = slowest(capsys, "tempo+" + tempo.url, "--ca-bundle", str(tmp_path / "none.pem"))
    assert run.code == 2
    assert "none.pem" in run.error()
