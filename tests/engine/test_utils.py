"""engine/utils.py: small helpers whose meaning others rely on."""

from __future__ import annotations

import pytest

from django_jobqueue.engine.utils import get_version


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
    assert (utils.as_text(b"caf\xc3\xa9"), utils.as_text("x")) == ("café", "x")
    for not_text in (None, 3):
        with pytest.raises(ValueError, match="bytes or str"):
            utils.as_text(not_text)
