-- Put a job in its queue's scheduled registry at a time (RQ's
-- ScheduledJobRegistry.schedule): a scheduled job is moved to the new time; a
-- job that was only saved (status created) becomes scheduled. A job anywhere
-- else is refused, so that it is never in two places.
-- KEYS[1] scheduled registry   KEYS[2] job hash
-- ARGV[1] job id   ARGV[2] when (UNIX time)
-- Returns 1; errors 'NO_SUCH_JOB' and 'NOT_SCHEDULABLE <status>'.
local status = redis.call('HGET', KEYS[2], 'status')
if not status then return redis.error_reply('NO_SUCH_JOB') end
if status ~= 'scheduled' and status ~= 'created' then
  return redis.error_reply('NOT_SCHEDULABLE ' .. status)
end
if status == 'created' then redis.call('HSET', KEYS[2], 'status', 'scheduled') end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
return 1
