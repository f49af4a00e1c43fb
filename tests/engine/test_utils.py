"""engine/utils.py: small helpers whose meaning others rely on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from django_jobqueue.engine.utils import get_version, utcformat, utcparse


def test_get_version_is_the_servers_version_as_ints(redis_conn):
    version = get_version(redis_conn)
    assert len(version) == 3 and all(isinstance(part, int) for part in version)
    assert ".".join(map(str, version)) == redis_conn.info("server")["redis_version"]


def test_rqs_clock_and_text_helpers(monkeypatch):
    from datetime import UTC, datetime

    from django_jobqueue.engine import utils

    monkeypatch.setattr(utils.time, "time", lambda: 1_800_000_000.75)
    assert utils.current_timestamp() == 1_800_000_000
    assert utils.utcnow() == datetime.fromtimestamp(1_800_000_000.75, tz=UTC)
    assert (utils.as_text(b"caf\xc3\xa9"), utils.as_text("x"), utils.as_text(None)) == (
        "café",
        "x",
        None,
    )


def test_utcformat_and_utcparse_round_trip():
    when = datetime(2024, 1, 2, 3, 4, 5, 6, tzinfo=UTC)
    assert utcformat(when) == "2024-01-02T03:04:05.000006Z"
    assert utcparse(utcformat(when)) == when
    assert utcformat(when.astimezone(timezone(timedelta(hours=2)))) == utcformat(when)
    assert utcparse(b"2024-01-02T03:04:05Z") == when.replace(microsecond=0)
