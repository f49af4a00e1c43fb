-- Drop a started registry entry whose job is gone or no longer running (a
-- leftover of a job that ended), unless the job was taken again meanwhile:
-- it is running then, or its entry has a later deadline.
-- KEYS[1] started registry   KEYS[2] job hash
-- ARGV[1] job id   ARGV[2] the highest deadline to drop
-- Returns 1 when the entry was dropped, else 0.
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not score or tonumber(score) > tonumber(ARGV[2]) then return 0 end
if redis.pcall('HGET', KEYS[2], 'status') == 'started' then return 0 end
return redis.call('ZREM', KEYS[1], ARGV[1])
