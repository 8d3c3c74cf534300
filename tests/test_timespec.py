import pytest

from tracelens.errors import UsageError
from tracelens.timespec import parse_duration_ns, parse_time_ns


@pytest.mark.parametrize(
    ("text", "ns"),
    [
        ("3s", 3_000_000_000),
        ("250ms", 250_000_000),
        ("1m30s", 90_000_000_000),
        ("2h", 7_200_000_000_000),
        ("1.5", 1_500_000_000),
        ("500us", 500_000),
    ],
)
def test_durations_read_as_users_type_them(text, ns):
    assert parse_duration_ns(text) == ns


@pytest.mark.parametrize("text", ["", "3 parsecs", "s3", "1h frogs"])
def test_a_bad_duration_names_itself_in_the_error(text):
    with pytest.raises(UsageError, match="duration"):
        parse_duration_ns(text)


def test_times_are_iso_unix_seconds_or_an_age():
    now = 1_800_000_000 * 10**9
    assert parse_time_ns("2026-11-25T10:00:00Z") == parse_time_ns("2026-11-25T10:00:00+00:00")
    assert parse_time_ns("2026-11-25T10:00:00") == parse_time_ns("2026-11-25T10:00:00Z")
    assert parse_time_ns("1700000000") == 1_700_000_000 * 10**9
    assert parse_time_ns("1h", now_ns=now) == now - 3_600 * 10**9


def test_an_unreadable_time_says_what_it_accepts():
    with pytest.raises(UsageError, match="ISO 8601"):
        parse_time_ns("yesterday-ish")
