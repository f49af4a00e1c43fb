-- Record the success of a job that repeats: out of the started registry, its
-- result kept, and its next run placed in the queue or the scheduled registry
-- (see place_repeat); a job with no repeat left ends as finish.lua ends it.
-- KEYS[1] job hash   KEYS[2] started registry   KEYS[3] finished registry
-- KEYS[4] queue list   KEYS[5] priority set   KEYS[6] scheduled registry
-- ARGV[1] job id   ARGV[2] now   ARGV[3] result_ttl (0: keep no result, and
--         delete the job when it ends; -1: keep forever)
-- ARGV[4] serialized result   ARGV[5] worker name that ran it   ARGV[6] wake channel
-- Returns {new status, dependents JSON}, or false when the job was no longer
-- this worker's (deleted, stopped or given up as abandoned meanwhile).
local id, now = ARGV[1], ARGV[2]
local state = redis.call('HMGET', KEYS[1], 'status', 'worker', 'dependents', 'started_at')
if state[1] ~= 'started' or state[2] ~= ARGV[5] then return false end
local dependents = state[3] or '[]'
local ttl = tonumber(ARGV[3])
redis.call('ZREM', KEYS[2], id)
redis.call('HDEL', KEYS[1], 'exc_info', 'exc_line', 'returned_retry')
redis.call('HSET', KEYS[1], 'ended_at', now, 'duration', run_seconds(state[4], now))
if ttl ~= 0 then redis.call('HSET', KEYS[1], 'result', ARGV[4]) end
local placed = place_repeat(KEYS[1], id, KEYS[4], KEYS[5], KEYS[6], now, ARGV[6])
if placed then return {placed, dependents} end
if ttl == 0 then
  redis.call('DEL', KEYS[1])
  return {'finished', dependents}
end
redis.call('HSET', KEYS[1], 'status', 'finished')
if ttl > 0 then
  redis.call('EXPIRE', KEYS[1], ttl)
  redis.call('ZADD', KEYS[3], tonumber(now) + ttl, id)
else
  redis.call('ZADD', KEYS[3], '+inf', id)
end
return {'finished', dependents}
