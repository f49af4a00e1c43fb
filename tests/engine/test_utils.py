"""engine/utils.py: small helpers whose meaning others rely on."""

from __future__ import annotations

from django_jobqueue.engine.utils import get_version


def test_get_version_is_the_servers_version_as_ints(redis_conn):
    version = get_version(redis_conn)
    assert len(version) == 3 and all(isinstance(part, int) for part in version)
    assert ".".join(map(str, version)) == redis_conn.info("server")["redis_version"]
