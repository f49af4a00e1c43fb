-- Set one field of a job that still exists (HSET alone would resurrect a
-- deleted or expired job as a stray hash).
-- KEYS[1] job hash
-- ARGV[1] field   ARGV[2] value
-- Returns 1 when set, 0 when the job is gone.
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
