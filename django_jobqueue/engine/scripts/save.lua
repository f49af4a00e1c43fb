-- Store the fields of a job people may change after enqueueing it (job.save()),
-- only while the job still exists: HSET alone would resurrect a deleted or
-- expired job as a hash in no queue and no registry.
-- KEYS[1] job hash
-- ARGV[1] how many field names follow to delete (set to None on the job)
-- ARGV[2..] those names, then field, value pairs to set
-- Returns 1 when stored, 0 when the job is gone.
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local deleted = tonumber(ARGV[1])
if deleted > 0 then redis.call('HDEL', KEYS[1], unpack(ARGV, 2, 1 + deleted)) end
if #ARGV > 1 + deleted then redis.call('HSET', KEYS[1], unpack(ARGV, 2 + deleted)) end
return 1
