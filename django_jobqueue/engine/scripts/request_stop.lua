-- Ask a worker to abort one job it is running: set 'stop_job' on the worker's
-- registration, which the worker looks at about once a second while a job runs.
-- KEYS[1] worker hash
-- ARGV[1] job id
-- Returns 1, or 0 when no such worker is registered (it died or stopped), so
-- that no orphan hash is created.
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'stop_job', ARGV[1])
return 1
