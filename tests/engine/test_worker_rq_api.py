"""The Worker API that code written for RQ calls or overrides, on our engine."""

from __future__ import annotations

import os
import threading
import time
import warnings
from datetime import datetime, timedelta
from unittest import mock

import pytest
import redis

from django_jobqueue.engine import Job, Queue, SimpleWorker, SpawnWorker, Worker
from django_jobqueue.engine.timeouts import (
    BaseDeathPenalty,
    DeathPenalty,
    TimerDeathPenalty,
    UnixSignalDeathPenalty,
    get_default_death_penalty_class,
)
from django_jobqueue.engine.vocabulary import JobStatus, WorkerState

from . import jobs
from . import rq_worker_classes as classes
from .conftest import wait_until

# -- construction -------------------------------------------------------------------


def test_job_and_queue_classes_by_class_or_dotted_path(make_worker):
    worker = make_worker(
        ["a"],
        job_class="tests.engine.rq_worker_classes.TaggedJob",
        queue_class="tests.engine.rq_worker_classes.TaggedQueue",
    )
    assert worker.job_class is classes.TaggedJob
    assert worker.queue_class is classes.TaggedQueue
    assert type(worker.queues[0]) is classes.TaggedQueue
    assert worker.queues[0].job_class is classes.TaggedJob
    with pytest.raises(ValueError, match="job_class"):
        make_worker(["a"], job_class="tests.engine.rq_worker_classes.Nope")


def test_classes_are_kept_per_worker_not_globally(make_worker):
    custom = make_worker(["a"], job_class=classes.TaggedJob, queue_class=classes.TaggedQueue)
    plain = make_worker(["a"])
    assert (custom.job_class, custom.queue_class) == (classes.TaggedJob, classes.TaggedQueue)
    assert (plain.job_class, plain.queue_class) == (Job, Queue)
    assert (Worker.job_class, Worker.queue_class) == (Job, Queue)


def test_a_subclass_sets_its_classes_as_attributes(make_queue, queue):
    class MyWorker(SimpleWorker):
        job_class = classes.TaggedJob
        queue_class = classes.TaggedQueue

    worker = MyWorker(["a"], connection=queue.connection, prefix=queue.keys.prefix)
    assert worker.job_class is classes.TaggedJob
    assert type(worker.queues[0]) is classes.TaggedQueue
    job = queue.enqueue(jobs.add, 1, 2)
    taken, _ = MyWorker([queue]).dequeue_job_and_maintain_ttl(None)
    assert type(taken) is classes.TaggedJob and taken.id == job.id


def test_queue_names_and_keys_are_callable_as_in_rq(make_worker, make_queue):
    worker = make_worker(["high", "low"])
    assert worker.queue_names == ["high", "low"]  # still a list
    assert worker.queue_names() == ["high", "low"]
    assert worker.queue_keys() == [q.key for q in worker.queues]


def test_worker_learns_its_address_and_names_its_connection(make_worker, redis_conn):
    worker = make_worker(["a"])
    assert worker.ip_address.startswith("127.0.0.1:")
    names = [c.get("name") for c in redis_conn.client_list()]
    assert worker.name in names


def test_address_falls_back_to_client_list(make_worker, redis_conn):
    old = redis.ResponseError("unknown subcommand")
    with mock.patch.object(redis_conn, "client_info", side_effect=old):
        with mock.patch.object(redis_conn, "client_list", wraps=redis_conn.client_list) as listed:
            worker = make_worker(["a"])
    assert listed.call_count == 1 and worker.ip_address.startswith("127.0.0.1:")


@pytest.mark.parametrize("refused", ["client_setname", "client_list"])
def test_address_unknown_with_a_warning_when_the_server_refuses(make_worker, redis_conn, refused):
    refusal = redis.ResponseError("unknown command")
    patches = [mock.patch.object(redis_conn, refused, side_effect=refusal)]
    if refused == "client_list":
        patches.append(mock.patch.object(redis_conn, "client_info", side_effect=refusal))
    for patch in patches:
        patch.start()
    try:
        with pytest.warns(Warning, match="not supported"):
            worker = make_worker(["a"])
    finally:
        for patch in patches:
            patch.stop()
    assert worker.ip_address == "unknown"


def test_a_worker_built_before_redis_is_up_does_not_fail(key_prefix):
    down = redis.Redis(port=1, socket_connect_timeout=0.2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        worker = Worker(["a"], connection=down, prefix=key_prefix)
    assert worker.ip_address == "unknown"


def test_read_back_workers_do_not_touch_the_connection(make_worker, redis_conn, key_prefix):
    worker = make_worker(["a"])
    worker.register_birth()
    try:
        with mock.patch.object(redis_conn, "client_setname") as named:
            [found] = Worker.all(connection=redis_conn, prefix=key_prefix)
        assert named.call_count == 0
        assert found.ip_address == worker.ip_address
    finally:
        worker.register_death()


def test_socket_timeout_is_bounded_unless_set(redis_url, key_prefix):
    unbounded = redis.Redis.from_url(redis_url)
    worker = Worker(["a"], connection=unbounded, prefix=key_prefix, worker_ttl=100)
    assert (worker.dequeue_timeout, worker.connection_timeout) == (85, 95)
    assert unbounded.connection_pool.connection_kwargs["socket_timeout"] == 95
    # One the application chose (to notice a dead server soon) is kept.
    chosen = redis.Redis.from_url(redis_url, socket_timeout=5)
    Worker(["a"], connection=chosen, prefix=key_prefix)
    assert chosen.connection_pool.connection_kwargs["socket_timeout"] == 5


def test_worker_ttl_and_its_older_name(make_worker):
    assert make_worker(["a"], default_worker_ttl=10).worker_ttl == 10
    assert make_worker(["a"], worker_ttl=20).worker_ttl == 20


# -- what RQ users call -------------------------------------------------------------


def test_heartbeat_ttl_covers_the_next_look_at_the_job(make_worker, queue):
    worker = make_worker([queue], job_monitoring_interval=30)
    job = queue.enqueue(jobs.add, 1, 2, job_timeout=100)
    assert worker.get_heartbeat_ttl(job) == 90
    assert worker.get_heartbeat_ttl(job, working_time=95) == 65
    job.timeout = None
    assert worker.get_heartbeat_ttl(job, working_time=95) == 90
    assert worker.job_monitoring_interval == 30


def test_should_run_maintenance_tasks(make_worker):
    worker = make_worker(["a"], maintenance_interval=10)
    assert worker.should_run_maintenance_tasks
    worker.last_cleaned_at = time.time()
    assert not worker.should_run_maintenance_tasks
    worker.last_cleaned_at = datetime.now() - timedelta(seconds=11)
    assert worker.should_run_maintenance_tasks


def test_dequeue_job_and_maintain_ttl_then_execute_job(make_worker, queue):
    worker = make_worker([queue])
    assert worker.dequeue_job_and_maintain_ttl(None) is None
    started = time.monotonic()
    assert worker.dequeue_job_and_maintain_ttl(0.3) is None
    assert time.monotonic() - started >= 0.3
    job = queue.enqueue(jobs.add, 2, 3)
    taken, from_queue = worker.dequeue_job_and_maintain_ttl(5)
    assert (taken.id, from_queue) == (job.id, queue)
    # Taken is started by this worker: in exactly one place.
    assert job.get_status() == JobStatus.STARTED and queue.count == 0
    assert job.id in queue.started_job_registry
    assert worker.execute_job(taken, from_queue) == JobStatus.FINISHED
    assert job.return_value(refresh=True) == 5


def test_dequeue_waits_for_a_job_pushed_meanwhile(make_worker, queue):
    worker = make_worker([queue])
    timer = threading.Timer(0.2, queue.enqueue, (jobs.add, 1, 1))
    timer.start()
    try:
        taken = worker.dequeue_job_and_maintain_ttl(5)
    finally:
        timer.cancel()
    assert taken is not None and taken[0].func_name.endswith("add")


def test_handle_job_failure_retries_then_fails(make_worker, queue):
    from django_jobqueue.engine import Retry

    job = queue.enqueue(jobs.fail, retry=Retry(max=1))
    worker = make_worker([queue])
    taken, _ = worker.dequeue_job_and_maintain_ttl(None)
    assert worker.handle_job_failure(taken, queue, exc_string="boom") == JobStatus.QUEUED
    assert job.get_status() == JobStatus.QUEUED and queue.job_ids == [job.id]
    taken, _ = worker.dequeue_job_and_maintain_ttl(None)
    assert worker.handle_job_failure(taken, queue, exc_string="boom") == JobStatus.FAILED
    assert job.id in queue.failed_job_registry and queue.count == 0
    assert worker.failed_job_count == 2


def test_handle_job_success_counts_the_working_time(make_worker, queue):
    worker = make_worker([queue])
    worker.register_birth()
    try:
        job = queue.enqueue(jobs.add, 1, 1)
        job.started_at = datetime.now()
        job.ended_at = job.started_at + timedelta(seconds=0.75)
        worker.handle_job_success(job, queue)
        worker.handle_job_success(job, queue)
        worker.refresh()
        assert worker.successful_job_count == 2 and worker.total_working_time == 1.5
    finally:
        worker.register_death()


def test_counts_are_not_written_for_an_unregistered_worker(make_worker, queue, redis_conn):
    worker = make_worker([queue])
    worker.handle_job_success(queue.enqueue(jobs.add, 1, 1), queue)
    assert not redis_conn.exists(worker.key)  # no stray hash without a TTL


def test_handle_exception_logs_and_calls_the_handlers(make_worker, caplog):
    seen = []
    worker = make_worker(["a"], exception_handlers=[lambda job, *exc: seen.append(exc[1])])
    job = mock.Mock(id="j1")
    try:
        raise ValueError("💪 non-ascii")
    except ValueError as exc:
        error = exc
        worker.handle_exception(job, type(exc), exc, exc.__traceback__)
    assert seen == [error]
    assert "💪 non-ascii" in caplog.text


def test_perform_job_runs_and_records_in_this_process(make_worker, queue):
    worker = make_worker([queue])
    job = queue.enqueue(jobs.add, 4, 5)
    taken, _ = worker.dequeue_job_and_maintain_ttl(None)
    assert worker.perform_job(taken, queue) is True
    assert job.return_value(refresh=True) == 9


# -- what RQ users override ---------------------------------------------------------


def test_an_overridden_perform_job_runs_in_the_work_horse(make_worker, queue, redis_conn):
    job = queue.enqueue(jobs.add, 1, 2)
    worker = make_worker([queue], cls=classes.RecordingWorker)
    assert worker.work(burst=True)
    seen = redis_conn.get(f"{queue.keys.prefix}seen").decode().split()
    assert seen[:4] == ["RecordingWorker", "Job", "Queue", "DeathPenalty"]
    assert int(seen[4]) != os.getpid()  # in the forked horse
    assert job.return_value(refresh=True) == 3
    assert worker.successful_job_count == 1


def test_a_perform_job_that_raises_fails_the_job_and_the_worker_goes_on(make_worker, queue):
    first = queue.enqueue(jobs.add, 1, 2)
    second = queue.enqueue(jobs.add, 3, 4)
    worker = make_worker([queue], cls=classes.BrokenPerformWorker)
    assert worker.work(burst=True)
    for job in (first, second):
        assert job.get_status(refresh=True) == JobStatus.FAILED
        assert "perform_job broke" in job.exc_info
        assert job.id in queue.failed_job_registry
    assert queue.started_job_registry.count == 0


def test_a_perform_job_override_is_called_by_an_in_process_worker(make_worker, queue):
    calls = []

    class Mine(SimpleWorker):
        def perform_job(self, job, queue, execution=None):
            calls.append(job.id)
            ok = super().perform_job(job, queue, execution)
            raise RuntimeError(f"after recording ({ok})")  # recorded already: ignored

    job = queue.enqueue(jobs.add, 1, 1)
    worker = make_worker([queue], cls=Mine)
    assert worker.work(burst=True)
    assert calls == [job.id]
    assert job.get_status(refresh=True) == JobStatus.FINISHED


def test_execute_job_sees_every_job_the_loop_takes(make_worker, queue):
    seen = []

    class Mine(SimpleWorker):
        def execute_job(self, job, queue):
            seen.append((job.id, queue.name))
            return super().execute_job(job, queue)

    ids = [queue.enqueue(jobs.add, i, i).id for i in range(3)]
    make_worker([queue], cls=Mine).work(burst=True)
    assert seen == [(i, queue.name) for i in ids]


def test_spawned_horse_rebuilds_the_worker_with_its_classes(make_queue, make_worker, redis_conn):
    queue = make_queue("default", job_class=classes.TaggedJob)
    job = queue.enqueue(classes.job_id_from_environ)
    worker = make_worker(
        [queue],
        cls=classes.RecordingSpawnWorker,
        job_class=classes.TaggedJob,
        queue_class=classes.TaggedQueue,
        default_result_ttl=10000,
        death_penalty_class=classes.TaggedDeathPenalty,
    )
    worker.work(burst=True)
    seen = redis_conn.get(f"{queue.keys.prefix}seen").decode().split()
    assert seen[:4] == ["RecordingSpawnWorker", "TaggedJob", "TaggedQueue", "TaggedDeathPenalty"]
    assert job.return_value(refresh=True) == job.id  # RQ_JOB_ID in its environment
    assert 9000 < redis_conn.ttl(job.key) <= 10000


def test_a_spawn_worker_of_a_class_children_cannot_import_is_refused(make_worker, queue):
    class Local(SpawnWorker):
        pass

    queue.enqueue(jobs.add, 1, 1)
    with pytest.raises(Exception):  # noqa: B017 - pickle's or ours, before any job is taken
        make_worker([queue], cls=Local).work(burst=True)
    assert queue.count == 1


# -- states and stopping ------------------------------------------------------------


def test_a_forking_worker_shows_busy_then_idle(make_worker, queue, redis_conn):
    worker = make_worker([queue], cls=Worker)
    job = queue.enqueue(jobs.registration_field, worker.key, "state")
    worker.register_birth()
    try:
        taken, _ = worker.dequeue_job_and_maintain_ttl(None)
        worker.execute_job(taken, queue)
        assert job.return_value(refresh=True) == WorkerState.BUSY
        assert redis_conn.hget(worker.key, "state").decode() == WorkerState.IDLE
    finally:
        worker.register_death()


def test_request_force_stop_ignores_a_copy_of_the_first_signal(make_worker):
    worker = make_worker(["a"], cls=Worker)
    worker.request_stop()
    with mock.patch.object(worker, "stop_now") as stop_now:
        worker.request_force_stop()
        assert stop_now.call_count == 0 and not worker.cold
        worker.shutdown_requested_at -= 2
        worker.request_force_stop()
        assert stop_now.call_count == 1 and worker.cold


def test_handle_warm_shutdown_request_is_called_on_the_first_signal(make_worker):
    import signal

    calls = []

    class Mine(SimpleWorker):
        def handle_warm_shutdown_request(self):
            calls.append(self.stopping)

    worker = make_worker(["a"], cls=Mine)
    handlers = worker._install_signal_handlers()
    try:
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.05)
    finally:
        for signum, handler in handlers.items():
            signal.signal(signum, handler)
    assert calls == [True]


# -- death penalties ----------------------------------------------------------------


def test_rq_names_of_the_death_penalties():
    assert UnixSignalDeathPenalty is DeathPenalty
    assert issubclass(DeathPenalty, BaseDeathPenalty)
    assert issubclass(TimerDeathPenalty, BaseDeathPenalty)
    assert get_default_death_penalty_class() is DeathPenalty
    assert Worker.death_penalty_class is DeathPenalty


def test_timer_death_penalty_stops_a_job_in_a_thread(make_worker, queue):
    class TimerWorker(SimpleWorker):
        death_penalty_class = TimerDeathPenalty

    slow = queue.enqueue(jobs.spin, 4, job_timeout=1)
    quick = queue.enqueue(jobs.spin, 0.1, job_timeout=2)
    worker = make_worker([queue], cls=TimerWorker)
    done = threading.Thread(target=worker.work, kwargs={"burst": True})
    done.start()  # not the main thread: SIGALRM could not reach the job
    done.join(10)
    assert slow.get_status(refresh=True) == JobStatus.FAILED
    assert "JobTimeoutException" in slow.exc_info and "exceeded its timeout" in slow.exc_info
    assert quick.return_value(refresh=True) == "spun"


def test_a_death_penalty_of_ones_own(make_worker, queue):
    armed = []

    class Recording(BaseDeathPenalty):
        def setup_death_penalty(self):
            armed.append(("on", self.timeout, self.job_id))

        def cancel_death_penalty(self):
            armed.append(("off", self.timeout, self.job_id))

    job = queue.enqueue(jobs.add, 1, 1, job_timeout=7)
    make_worker([queue], death_penalty_class=Recording).work(burst=True)
    assert armed == [("on", 7, job.id), ("off", 7, job.id)]


# -- HerokuWorker -------------------------------------------------------------------


def test_heroku_worker_ends_the_job_soon_after_the_first_signal(make_worker, queue):
    import signal

    from django_jobqueue.engine import HerokuWorker

    class Quick(HerokuWorker):
        imminent_shutdown_delay = 0.5

    job = queue.enqueue(jobs.sleep_for, 20)
    waiting = queue.enqueue(jobs.add, 1, 1)
    worker = make_worker([queue], cls=Quick)

    def first_signal():
        # STARTED is written before the fork: wait for the work-horse, and
        # give it the moment it takes to set its handler (as RQ's, it has none
        # in its first milliseconds, when the signal would end it).
        wait_until(lambda: worker.horse_pid != 0, timeout=10)
        time.sleep(0.5)
        os.kill(os.getpid(), signal.SIGTERM)

    sender = threading.Thread(target=first_signal)
    sender.start()
    started = time.monotonic()
    worker.work(burst=True)
    sender.join()
    assert time.monotonic() - started < 10
    assert job.get_status(refresh=True) == JobStatus.FAILED
    assert "ShutDownImminentException" in job.exc_info
    assert job.id in queue.failed_job_registry
    assert waiting.get_status() == JobStatus.QUEUED  # the worker stopped after it
    assert worker.horse_pid == 0


def test_heroku_worker_without_a_running_job_just_stops(make_worker):
    from django_jobqueue.engine import HerokuWorker

    worker = make_worker(["a"], cls=HerokuWorker)
    worker.handle_warm_shutdown_request()  # nothing to tell: no error
    assert worker.horse_pid == 0


@pytest.mark.parametrize("burst", [True, False])
def test_a_forking_worker_hears_a_stop_request_at_once(queue, spawn_worker, burst):
    from django_jobqueue.engine import stop_job

    job = queue.enqueue(jobs.sleep_for, 30)
    spawn_worker(worker_class="Worker", burst=burst)
    wait_until(lambda: job.get_status() == JobStatus.STARTED, timeout=10)
    time.sleep(1.2)  # past the start, when stop requests would only be polled
    asked = time.monotonic()
    assert stop_job(job) == "stopping"
    wait_until(lambda: job.get_status() == JobStatus.STOPPED, timeout=5)
    # Published, so heard well before the once-a-second poll.
    assert time.monotonic() - asked < 0.6


def test_a_shutdown_announced_is_obeyed_even_if_its_stored_copy_is_gone(
    queue, spawn_worker, redis_conn
):
    proc = spawn_worker(worker_class="Worker", name="listener")
    key = queue.keys.worker("listener")
    wait_until(lambda: redis_conn.hget(key, "state") == b"idle", timeout=10)
    # The registration was wiped (FLUSHDB, say) just before the worker read it.
    redis_conn.publish(queue.keys.worker_channel("listener"), "shutdown")
    assert proc.wait(10) == 0


def test_a_spawn_worker_the_horse_cannot_rebuild(make_queue, redis_conn, key_prefix):
    queue = make_queue("default")
    plain = queue.enqueue(jobs.add, 1, 2)
    classes.OddSpawnWorker("red", [queue]).work(burst=True)
    assert plain.return_value(refresh=True) == 3  # run the plain way
    # One whose perform_job must run in the horse is not run another way.
    odd = queue.enqueue(jobs.add, 3, 4)
    classes.OddRecordingSpawnWorker("red", [queue]).work(burst=True)
    assert odd.get_status(refresh=True) == JobStatus.FAILED
    assert "could not load it" in odd.exc_info
    assert queue.started_job_registry.count == 0


def test_overridden_outcome_handlers_are_called_once_per_job(make_worker, queue):
    from django_jobqueue.engine import Retry

    seen = []

    class Mine(Worker):
        def handle_job_success(self, job, queue, started_job_registry=None, execution=None):
            seen.append(("ok", job.id, queue.name))
            super().handle_job_success(job, queue, started_job_registry, execution)

        def handle_job_failure(self, job, queue, started_job_registry=None, exc_string=""):
            seen.append((job.get_status(refresh=False), job.id, "ValueError" in exc_string))
            status = super().handle_job_failure(job, queue, started_job_registry, exc_string)
            raise RuntimeError(f"a broken handler ({status})")  # logged, not fatal

    ok = queue.enqueue(jobs.add, 1, 1)
    retried = queue.enqueue(jobs.fail, "no", retry=Retry(max=1))
    worker = make_worker([queue], cls=Mine)
    worker.work(burst=True)
    assert seen == [
        ("ok", ok.id, queue.name),
        (JobStatus.QUEUED, retried.id, True),
        (JobStatus.FAILED, retried.id, True),
    ]
    # Recorded and counted once: super() did not record or count again.
    assert (worker.successful_job_count, worker.failed_job_count) == (1, 2)
    assert retried.get_status(refresh=True) == JobStatus.FAILED
    assert queue.failed_job_registry.count == 1
