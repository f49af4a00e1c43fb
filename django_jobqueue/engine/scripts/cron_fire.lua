-- Handle one occurrence of a periodic entry exactly once: record it as the entry's
-- watermark and, unless told not to or the entry is paused, enqueue its job.
-- KEYS[1] the entry's record (hash)   KEYS[2] the new job's hash   KEYS[3] queue list
-- KEYS[4] priority set
-- KEYS[5] the set of queue names (on Redis Cluster: any key of this queue's)
-- ARGV[1] the watermark the caller read ('' when the entry had no record)
-- ARGV[2] the new watermark (the occurrence handled now)
-- ARGV[3] the entry's schedule signature
-- ARGV[4] '1' to enqueue the job, '0' to only record the occurrence
-- ARGV[5] now   ARGV[6] job id   ARGV[7] wake channel
-- ARGV[8] ttl in seconds while waiting, '' for none
-- ARGV[9] the queue's name, added to KEYS[5] (see enqueue.lua); '' when the
--         caller adds it itself
-- ARGV[10..] field, value pairs of the job hash
-- Returns 1 when the job was enqueued, 2 when only recorded, 3 when recorded
-- because the entry is paused, 0 when the watermark is no longer ARGV[1]
-- (another scheduler handled the occurrence first).
local record = KEYS[1]
if (redis.call('HGET', record, 'occurrence') or '') ~= ARGV[1] then return 0 end
redis.call('HSET', record, 'occurrence', ARGV[2], 'schedule', ARGV[3])
if ARGV[4] ~= '1' then return 2 end
if redis.call('HGET', record, 'paused') == '1' then return 3 end
local id, now = ARGV[6], ARGV[5]
-- The id first (see enqueue.lua): a queue list of the wrong type fails the
-- script before the job is written.
push(KEYS[3], KEYS[4], KEYS[2], id, false, now, ARGV[7], 0)
write_job(KEYS[2], 'queued', now, ARGV[8], ARGV, 10)
if ARGV[9] ~= '' then redis.call('SADD', KEYS[5], ARGV[9]) end
redis.call('HSET', record, 'last_job', id, 'last_run', now)
redis.call('HDEL', record, 'error')
return 1
