-- Move a job from wherever it is (its queue, any registry, or none: a job
-- saved but never enqueued) to one place, in one step: RQ's job.retry(),
-- prepare_for_execution() and record_job_failure() on a caller's pipeline.
-- KEYS[1] job hash   KEYS[2] queue list
-- KEYS[3..9] started, finished, failed, deferred, canceled, scheduled, rate_limited
-- registries (the order of REGISTRIES)   KEYS[10] priority set
-- ARGV[1] job id   ARGV[2] now   ARGV[3] where: 'queued', 'scheduled', 'started' or 'failed'
-- ARGV[4] 'scheduled': when it is due; 'started': its heartbeat deadline;
--         'failed': seconds to keep it (0: delete, -1: forever)
-- ARGV[5] '1' to enter the queue at its front   ARGV[6] wake channel
-- ARGV[7..] field/value pairs to set on the job hash
-- Returns {the new status, dependents JSON}; an error 'NO_SUCH_JOB'.
local id, now, where = ARGV[1], ARGV[2], ARGV[3]
local job = KEYS[1]
if redis.call('EXISTS', job) == 0 then return redis.error_reply('NO_SUCH_JOB') end
redis.call('LREM', KEYS[2], 0, id)
redis.call('ZREM', KEYS[10], id)
for i = 3, 9 do redis.call('ZREM', KEYS[i], id) end
if #ARGV > 6 then
  redis.call('HSET', job, unpack(ARGV, 7))
  sync_exc_line(job, ARGV, 7, 2)
end
local state = redis.call('HMGET', job, 'dependents', 'started_at')
local dependents = state[1] or '[]'
if where == 'queued' then
  redis.call('PERSIST', job)
  redis.call('HSET', job, 'status', 'queued', 'enqueued_at', now)
  return {push(KEYS[2], KEYS[10], job, id, ARGV[5] == '1', now, ARGV[6]), '[]'}
elseif where == 'scheduled' then
  redis.call('PERSIST', job)
  redis.call('HSET', job, 'status', 'scheduled')
  redis.call('ZADD', KEYS[8], tonumber(ARGV[4]), id)
  return {'scheduled', '[]'}
elseif where == 'started' then
  redis.call('PERSIST', job)
  redis.call('HSET', job, 'status', 'started', 'started_at', now)
  redis.call('HDEL', job, 'duration')  -- an earlier run's (see take_next)
  redis.call('ZADD', KEYS[3], tonumber(ARGV[4]), id)
  return {'started', '[]'}
end
local ttl = tonumber(ARGV[4])
redis.call('HSET', job, 'status', 'failed', 'ended_at', now,
           'duration', run_seconds(state[2], now))
if ttl == 0 then
  redis.call('DEL', job)
elseif ttl > 0 then
  redis.call('EXPIRE', job, ttl)
  redis.call('ZADD', KEYS[5], tonumber(now) + ttl, id)
else
  redis.call('PERSIST', job)
  redis.call('ZADD', KEYS[5], '+inf', id)
end
return {'failed', dependents}
