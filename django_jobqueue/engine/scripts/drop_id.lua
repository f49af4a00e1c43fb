-- Take out of a queue an id whose job is gone or not queued (see compact.lua),
-- for Queue.pop_job_id.
-- KEYS[1] queue list   KEYS[2] priority set   KEYS[3] job key
-- ARGV[1] job id
-- Returns 1 when the id was dropped, 0 when its job is queued (left alone).
if redis.call('HGET', KEYS[3], 'status') == 'queued' then return 0 end
local n = redis.call('LREM', KEYS[1], 0, ARGV[1]) + redis.call('ZREM', KEYS[2], ARGV[1])
return n > 0 and 1 or 0
