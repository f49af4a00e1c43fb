-- Put an ended job (failed, stopped or canceled) back in its queue; a job whose
-- parents are still pending goes back to the deferred registry instead.
-- KEYS[1] job hash   KEYS[2] queue list   KEYS[3] failed registry
-- KEYS[4] canceled registry   KEYS[5] deferred registry   KEYS[6] priority set
-- ARGV[1] job id   ARGV[2] now   ARGV[3] '1' to push at the front   ARGV[4] wake channel
-- Returns the new status; an error 'NO_SUCH_JOB' or 'NOT_REQUEUEABLE <status>'.
local id = ARGV[1]
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return redis.error_reply('NO_SUCH_JOB') end
if status ~= 'failed' and status ~= 'stopped' and status ~= 'canceled' then
  return redis.error_reply('NOT_REQUEUEABLE ' .. status)
end
redis.call('ZREM', KEYS[3], id)
redis.call('ZREM', KEYS[4], id)
redis.call('HDEL', KEYS[1], 'exc_info', 'started_at', 'ended_at', 'result', 'worker',
           'stop_requested')
redis.call('PERSIST', KEYS[1])
if redis.call('HEXISTS', KEYS[1], 'pending') == 1 then
  redis.call('HSET', KEYS[1], 'status', 'deferred')
  redis.call('ZADD', KEYS[5], ARGV[2], id)
  return 'deferred'
end
redis.call('HSET', KEYS[1], 'status', 'queued', 'enqueued_at', ARGV[2])
push(KEYS[2], KEYS[6], KEYS[1], id, ARGV[3] == '1', ARGV[2], ARGV[4])
return 'queued'
