-- Create a job and put it where it belongs, in one step.
-- KEYS[1] job hash   KEYS[2] queue list   KEYS[3] priority set
-- KEYS[4] the registry of the target status (deferred, scheduled or started; for
--         queued, anything in the queue's slot)
-- KEYS[5] the set of queue names (on Redis Cluster, where it lies in another
--         slot, any key of this queue's, with ARGV[9] '')
-- KEYS[6..9] finished, failed, canceled and scheduled registries: only when the
--         caller chose the id, since only then can another job with that id exist
-- ARGV[1] job id
-- ARGV[2] target status: queued | deferred | scheduled | started
-- ARGV[3] now (written as created_at, and enqueued_at when queued or started)
-- ARGV[4] registry score (scheduled: due time; started: heartbeat deadline; else now)
-- ARGV[5] '1' to push at the front of the queue
-- ARGV[6] ttl in seconds while waiting, '' for none
-- ARGV[7] wake channel
-- ARGV[8] the job's priority
-- ARGV[9] the queue's name, added to KEYS[5] so that a Redis emptied since the
--         queue was first used (restart, failover, FLUSHDB) lists it again; ''
--         when the caller adds it itself
-- ARGV[10] for a chosen id, what to do with a job that has it: 'replace' or
--          'unique' (see claim_id in _lib.lua); '' otherwise
-- ARGV[11..] field, value pairs of the job hash
-- Returns 1; an error 'DUPLICATE <status>' when the job with this id is kept.
local id, target, now = ARGV[1], ARGV[2], ARGV[3]
if #KEYS > 5 then
  local duplicate = claim_id(KEYS[1], id, {KEYS[6], KEYS[7], KEYS[8]}, ARGV[10],
                             {KEYS[2], KEYS[3], KEYS[9]})
  if duplicate then return redis.error_reply(duplicate) end
end
-- The id first, the hash after: a queue or registry key of the wrong type
-- fails the script before anything is written (no stray hash).
if target == 'queued' then
  push(KEYS[2], KEYS[3], KEYS[1], id, ARGV[5] == '1', now, ARGV[7], tonumber(ARGV[8]), true)
elseif target == 'deferred' or target == 'scheduled' or target == 'started' then
  redis.call('ZADD', KEYS[4], ARGV[4], id)
else
  return redis.error_reply('BAD_TARGET ' .. target)
end
write_job(KEYS[1], target, now, ARGV[6], ARGV, 11)
if ARGV[9] ~= '' then redis.call('SADD', KEYS[5], ARGV[9]) end
return 1
