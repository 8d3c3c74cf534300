"""Shared pytest options: `pytest --update-golden` rewrites tests/golden/* from current output."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import Phase, settings

GOLDEN_DIR = Path(__file__).parent / "golden"

if os.environ.get("TRACELENS_MUTATION"):
    # bench/mutation.py: the first failing example kills a mutant; shrinking it to the smallest
    # one would only cost time there, once per mutant
    settings.register_profile(
        "mutation", phases=(Phase.explicit, Phase.reuse, Phase.generate), deadline=None
    )
    settings.load_profile("mutation")
    _MAX_EXAMPLES = int(os.environ.get("TRACELENS_MUTATION_EXAMPLES", "50"))

    def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
        """Under mutation, cap each property test's examples: each mutant runs them all again."""
        for item in items:
            test = getattr(item, "obj", None)
            held = getattr(test, "_hypothesis_internal_use_settings", None)
            if held is not None and held.max_examples > _MAX_EXAMPLES:
                test._hypothesis_internal_use_settings = settings(  # type: ignore[union-attr]
                    held, max_examples=_MAX_EXAMPLES
                )


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden", action="store_true", help="rewrite tests/golden/* from current output"
    )


@pytest.fixture
def golden(request: pytest.FixtureRequest) -> Callable[[str, str], None]:
    """`golden("report.csv", text)` asserts text equals the file, or rewrites it when updating."""
    update = bool(request.config.getoption("--update-golden"))

    def check(name: str, text: str) -> None:
        path = GOLDEN_DIR / name
        if update:
            path.write_text(text, encoding="utf-8", newline="")
            return
        assert path.exists(), f"{path} is missing: run pytest --update-golden"
        with path.open(encoding="utf-8", newline="") as f:  # keep CRLF as written
            assert text == f.read()

    return check
