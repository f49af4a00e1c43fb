-- Keep an ended job for ARGV[3] more seconds (RQ's job.cleanup(ttl)): its hash
-- expires then, and its registry entry, scored by that time, says so too. A
-- job saved but never enqueued (status 'created') is in no registry: only its
-- hash expires.
-- KEYS[1] job hash   KEYS[2] finished registry   KEYS[3] failed registry (failed
-- and stopped jobs)   KEYS[4] canceled registry
-- ARGV[1] job id   ARGV[2] now   ARGV[3] seconds to keep it (-1: forever)
-- Returns the job's status; an error 'NO_SUCH_JOB' or 'NOT_ENDED <status>'.
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return redis.error_reply('NO_SUCH_JOB') end
local registry
if status == 'finished' then
  registry = KEYS[2]
elseif status == 'failed' or status == 'stopped' then
  registry = KEYS[3]
elseif status == 'canceled' then
  registry = KEYS[4]
elseif status ~= 'created' then
  return redis.error_reply('NOT_ENDED ' .. status)
end
local ttl = tonumber(ARGV[3])
if ttl > 0 then
  redis.call('EXPIRE', KEYS[1], ttl)
  if registry then redis.call('ZADD', registry, 'XX', tonumber(ARGV[2]) + ttl, ARGV[1]) end
else
  redis.call('PERSIST', KEYS[1])
  if registry then redis.call('ZADD', registry, 'XX', '+inf', ARGV[1]) end
end
return status
