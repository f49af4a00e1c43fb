-- Run a repeating job once more now, or after its next interval (Repeat.schedule):
-- the job leaves its queue or registry and is placed again, one repeat fewer left.
-- KEYS[1] job hash   KEYS[2] queue list   KEYS[3] priority set
-- KEYS[4] scheduled registry
-- KEYS[5..7] finished, failed (which keeps stopped jobs too) and canceled registries
-- ARGV[1] job id   ARGV[2] now   ARGV[3] wake channel
-- A running job is refused (its worker places its next run when it succeeds),
-- and so is one waiting on its parents.
-- Returns {new status, interval in seconds}; an error 'NO_SUCH_JOB',
-- 'NOT_REPEATABLE <status>' or 'NO_REPEATS_LEFT', with nothing changed.
local id, now = ARGV[1], ARGV[2]
local state = redis.call('HMGET', KEYS[1], 'status', 'repeats_left')
local status = state[1]
if not status then return redis.error_reply('NO_SUCH_JOB') end
if status == 'started' or status == 'deferred' then
  return redis.error_reply('NOT_REPEATABLE ' .. status)
end
if (tonumber(state[2] or '') or 0) <= 0 then return redis.error_reply('NO_REPEATS_LEFT') end
if status == 'queued' then
  redis.call('LREM', KEYS[2], 0, id)
  redis.call('ZREM', KEYS[3], id)
end
for i = 4, 7 do redis.call('ZREM', KEYS[i], id) end
redis.call('PERSIST', KEYS[1])
local placed, interval = place_repeat(KEYS[1], id, KEYS[2], KEYS[3], KEYS[4], now, ARGV[3])
return {placed, tostring(interval)}
