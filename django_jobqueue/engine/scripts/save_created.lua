-- Store a job that was created but never enqueued (job.save() on what
-- Job.create returned), as RQ does: a hash with status 'created' in no queue
-- and no registry. No worker ever takes it from there and nobody waits for it,
-- so nothing is lost while it stays; queue.enqueue_job(job) puts it somewhere.
-- KEYS[1] job hash
-- ARGV[1] ttl in seconds, '' for none
-- ARGV[2..] field, value pairs (status and created_at included)
-- Returns 1; an error 'DUPLICATE <status>' when the id belongs to a job that
-- is already in a queue or registry (that job is kept).
local old = redis.call('HGET', KEYS[1], 'status')
if old and old ~= 'created' then return redis.error_reply('DUPLICATE ' .. old) end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
if ARGV[1] ~= '' then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return 1
