-- Record a job's failure: retry it if it has retries left, else move it to the
-- failed registry.
-- KEYS[1] job hash   KEYS[2] started registry   KEYS[3] failed registry
-- KEYS[4] queue list KEYS[5] scheduled registry   KEYS[6] priority set
-- ARGV[1] job id   ARGV[2] now   ARGV[3] failure_ttl (0: delete, -1: keep forever)
-- ARGV[4] exc_info text   ARGV[5] worker name that ran it
-- ARGV[6] retry delay in seconds, '' when the job is not retried
-- ARGV[7] wake channel   ARGV[8] final status: 'failed' or 'stopped'
-- ARGV[9] '1' to act only if the job's heartbeat deadline has passed (abandoned jobs)
-- Returns {new status, dependents JSON}, or nil when the job is no longer this worker's.
local id, now = ARGV[1], ARGV[2]
if redis.call('HGET', KEYS[1], 'status') ~= 'started'
   or redis.call('HGET', KEYS[1], 'worker') ~= ARGV[5] then
  return nil
end
if ARGV[9] == '1' then
  local deadline = redis.call('ZSCORE', KEYS[2], id)
  if deadline and tonumber(deadline) > tonumber(now) then return nil end
end
redis.call('ZREM', KEYS[2], id)
redis.call('HSET', KEYS[1], 'exc_info', ARGV[4], 'ended_at', now)
if ARGV[6] ~= '' then
  redis.call('HINCRBY', KEYS[1], 'retries_left', -1)
  local delay = tonumber(ARGV[6])
  if delay > 0 then
    redis.call('HSET', KEYS[1], 'status', 'scheduled')
    redis.call('ZADD', KEYS[5], tonumber(now) + delay, id)
    return {'scheduled', '[]'}
  end
  redis.call('HSET', KEYS[1], 'status', 'queued', 'enqueued_at', now)
  push(KEYS[4], KEYS[6], KEYS[1], id, false, now)
  redis.call('PUBLISH', ARGV[7], id)
  return {'queued', '[]'}
end
local dependents = redis.call('HGET', KEYS[1], 'dependents') or '[]'
local ttl = tonumber(ARGV[3])
if ttl == 0 then
  redis.call('DEL', KEYS[1])
  return {ARGV[8], dependents}
end
redis.call('HSET', KEYS[1], 'status', ARGV[8])
if ttl > 0 then
  redis.call('EXPIRE', KEYS[1], ttl)
  redis.call('ZADD', KEYS[3], tonumber(now) + ttl, id)
else
  redis.call('PERSIST', KEYS[1])
  redis.call('ZADD', KEYS[3], '+inf', id)
end
return {ARGV[8], dependents}
