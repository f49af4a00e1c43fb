-- Cancel a job: take it out of its queue, the deferred, scheduled,
-- rate_limited or started registry (or none: a job saved but never enqueued,
-- status 'created') and put it in the canceled registry. A
-- started job keeps running, as in RQ: when it ends, finish.lua and fail.lua
-- see it canceled and leave its status and its dependents alone (a success
-- still stores its result).
-- KEYS[1] job hash   KEYS[2] queue list   KEYS[3] deferred registry
-- KEYS[4] scheduled registry   KEYS[5] canceled registry   KEYS[6] priority set
-- KEYS[7] started registry
-- KEYS[8] rate_limited registry (the job's id stays in its limit's waiting set
-- until the limit next admits a job, which passes it over)
-- ARGV[1] job id   ARGV[2] now   ARGV[3] seconds to keep it (-1: forever)
-- Returns the job's dependents (JSON list); an error 'NO_SUCH_JOB' or 'NOT_CANCELABLE <status>'.
local id, now = ARGV[1], ARGV[2]
local state = redis.call('HMGET', KEYS[1], 'status', 'started_at')
local status = state[1]
if not status then return redis.error_reply('NO_SUCH_JOB') end
if status == 'queued' then
  redis.call('LREM', KEYS[2], 0, id)
  redis.call('ZREM', KEYS[6], id)
elseif status == 'deferred' then
  redis.call('ZREM', KEYS[3], id)
elseif status == 'scheduled' then
  redis.call('ZREM', KEYS[4], id)
elseif status == 'started' then
  redis.call('ZREM', KEYS[7], id)
elseif status == 'rate_limited' then
  redis.call('ZREM', KEYS[8], id)
elseif status ~= 'created' then
  return redis.error_reply('NOT_CANCELABLE ' .. status)
end
redis.call('HSET', KEYS[1], 'status', 'canceled', 'ended_at', now,
           'duration', run_seconds(state[2], now))
local ttl = tonumber(ARGV[3])
if ttl > 0 then
  redis.call('EXPIRE', KEYS[1], ttl)
  redis.call('ZADD', KEYS[5], tonumber(now) + ttl, id)
else
  redis.call('PERSIST', KEYS[1])
  redis.call('ZADD', KEYS[5], '+inf', id)
end
return redis.call('HGET', KEYS[1], 'dependents') or '[]'
