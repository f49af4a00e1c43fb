-- Return a job a worker took but will not run (it is shutting down) to the
-- front of its queue, as if it had never been taken.
-- KEYS[1] job hash   KEYS[2] started registry   KEYS[3] queue list   KEYS[4] priority set
-- ARGV[1] job id   ARGV[2] now   ARGV[3] worker name   ARGV[4] wake channel
-- Returns 1, or 0 when the job is no longer this worker's.
local state = redis.call('HMGET', KEYS[1], 'status', 'worker')
if state[1] ~= 'started' or state[2] ~= ARGV[3] then return 0 end
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('HSET', KEYS[1], 'status', 'queued')
redis.call('HDEL', KEYS[1], 'started_at', 'worker')
push(KEYS[3], KEYS[4], KEYS[1], ARGV[1], true, ARGV[2], ARGV[4])
return 1
