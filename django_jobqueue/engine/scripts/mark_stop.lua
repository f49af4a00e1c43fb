-- Record on a running job that someone asked to stop it, so that whoever ends
-- it (its worker, or the sweep that recovers it when its worker died before
-- acting on the request) ends it as stopped, not retried (see fail.lua).
-- KEYS[1] job hash
-- Returns 1, or 0 when the job is not running.
if redis.call('HGET', KEYS[1], 'status') ~= 'started' then return 0 end
redis.call('HSET', KEYS[1], 'stop_requested', '1')
return 1
