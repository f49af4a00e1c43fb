"""engine/utils.py: small helpers whose meaning others rely on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

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
    assert (utils.as_text(b"caf\xc3\xa9"), utils.as_text("x")) == ("café", "x")
    for not_text in (None, 3):
        with pytest.raises(ValueError, match="bytes or str"):
            utils.as_text(not_text)


def test_get_version_has_three_parts_and_asks_once_per_connection():
    from django_jobqueue.engine import utils

    class Server:
        def __init__(self, version):
            self.version, self.asked = version, 0

        def info(self, section):
            self.asked += 1
            return {"redis_version": self.version}

    for reply, expected in [("7.1", (7, 1, 0)), (7.1, (7, 1, 0)), ("3.0.7.9", (3, 0, 7))]:
        server = Server(reply)
        assert utils.get_version(server) == utils.get_version(server) == expected
        assert server.asked == 1


def test_parse_timeout():
    from django_jobqueue.engine import TimeoutFormatError, utils

    assert [utils.parse_timeout(v) for v in (12, "12", "12s", "12m", "1H", "2d", -1, None)] == [
        12,
        12,
        12,
        720,
        3600,
        172800,
        -1,
        None,
    ]
    for bad in ("h12", "h", "m", "10k", "", "-5"):
        with pytest.raises(TimeoutFormatError):
            utils.parse_timeout(bad)
    assert issubclass(TimeoutFormatError, ValueError)


def test_timestamps_from_text():
    from datetime import UTC, datetime

    from django_jobqueue.engine import utils

    expected = datetime(2017, 8, 31, 10, 14, 2, 123456, tzinfo=UTC)
    assert utils.utcparse("2017-08-31T10:14:02.123456Z") == expected
    assert utils.utcparse("2017-08-31T10:14:02Z") == expected.replace(microsecond=0)
    assert utils.str_to_date(b"2017-08-31T10:14:02.123456Z") == expected
    assert utils.utcformat(expected) == "2017-08-31T10:14:02.123456Z"
    assert utils.utcparse(utils.utcformat(expected.astimezone())) == expected
    for bad in ("", b"", "yesterday"):
        with pytest.raises(ValueError):
            utils.str_to_date(bad)


def test_call_strings_and_truncation():
    from django_jobqueue.engine import utils

    assert utils.get_call_string("f", ("a", 42), {"k": True}) == "f('a', 42, k=True)"
    assert utils.get_call_string("f", (123456,), {"k": 1234567}, max_length=5) == (
        "f(12345..., k=12345...)"
    )
    assert utils.get_call_string(None, (), {}) is None
    assert utils.truncate_long_string("1234", max_length=3) == "123..."
    assert utils.truncate_long_string("123", max_length=3) == "123"
    assert utils.truncate_long_string("x" * 500) == "x" * 500


def test_lists_and_division():
    from django_jobqueue.engine import utils

    assert [utils.is_nonstring_iterable(v) for v in ([], (), {}, set(), "ab", b"ab", 3)] == [
        True,
        True,
        True,
        True,
        False,
        False,
        False,
    ]
    assert utils.ensure_job_list("id") == ["id"]
    assert utils.ensure_job_list(("a", "b")) == ["a", "b"]
    assert utils.ensure_job_list({}) == []
    assert (utils.ceildiv(12, 4), utils.ceildiv(13, 4), utils.ceildiv(0, 4)) == (3, 4, 0)
    assert list(utils.split_list(list(range(7)), 3)) == [[0, 1, 2], [3, 4, 5], [6]]


def test_import_attribute_and_classes_by_path():
    from django_jobqueue.engine import Queue, utils
    from django_jobqueue.engine.errors import ImportAttributeError

    assert utils.import_attribute("django_jobqueue.engine.utils.get_version") is get_version
    assert utils.import_attribute("django_jobqueue.engine.Queue.enqueue") is Queue.enqueue
    for missing in ("no.such.module", "django_jobqueue.engine.NoSuchThing", ".relative"):
        with pytest.raises(ValueError) as refused:  # RQ raises ValueError; ours is both
            utils.import_attribute(missing)
        assert isinstance(refused.value, ImportAttributeError) and isinstance(
            refused.value, ImportError
        )
    assert utils.backend_class(utils, "now") is utils.now
    assert utils.backend_class(utils, "now", override=Queue) is Queue
    assert utils.backend_class(utils, "now", override="django_jobqueue.engine.Queue") is Queue
    assert utils.import_class("django_jobqueue.engine.Queue", Queue, "queue") is Queue
    with pytest.raises(ValueError, match="not a queue class"):
        utils.import_class("django_jobqueue.engine.Job", Queue, "queue")


def test_config_paths(tmp_path):
    from django_jobqueue.engine import utils

    assert utils.normalize_config_path("app.cron_config") == "app.cron_config"
    assert utils.normalize_config_path("app/cron_config.py") == "app.cron_config"
    assert utils.normalize_config_path("/abs/path/config") == "abs.path.config"
    config = tmp_path / "config.py"
    config.write_text("")
    assert utils.validate_absolute_path(str(config)) == str(config)
    with pytest.raises(FileNotFoundError, match="Configuration file not found"):
        utils.validate_absolute_path(str(tmp_path / "missing.py"))
    with pytest.raises(IsADirectoryError, match="points to a directory"):
        utils.validate_absolute_path(str(tmp_path))


def test_pid_file(tmp_path):
    import os

    from django_jobqueue.engine.utils import PidFile

    path = tmp_path / "worker.pid"
    with PidFile(str(path)):
        assert path.read_text() == str(os.getpid())
    assert not path.exists()
    with PidFile(str(path), keep=True):
        pass
    assert path.read_text() == str(os.getpid())
    with PidFile(None):  # no --pid: nothing written
        pass


def test_utcformat_and_utcparse_round_trip():
    when = datetime(2024, 1, 2, 3, 4, 5, 6, tzinfo=UTC)
    assert utcformat(when) == "2024-01-02T03:04:05.000006Z"
    assert utcparse(utcformat(when)) == when
    assert utcformat(when.astimezone(timezone(timedelta(hours=2)))) == utcformat(when)
    assert utcparse(b"2024-01-02T03:04:05Z") == when.replace(microsecond=0)
