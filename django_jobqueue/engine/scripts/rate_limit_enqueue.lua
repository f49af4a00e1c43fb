-- Create a job that has a rate limit and put it in its queue when its limit has
-- a free slot, else make it wait for one (see rate_gate in _lib.lua), in one step.
-- KEYS[1] job hash   KEYS[2] queue list   KEYS[3] priority set
-- KEYS[4] the set of queue names (on Redis Cluster: any key of this queue's)
-- KEYS[5..8] finished, failed, canceled and scheduled registries: only when the
--         caller chose the id (see enqueue.lua)
-- ARGV[1] job id   ARGV[2] now   ARGV[3] '1' to push at the front
-- ARGV[4] ttl in seconds while waiting, '' for none   ARGV[5] wake channel
-- ARGV[6] the job's priority
-- ARGV[7] the queue's name, added to KEYS[4]; '' when the caller adds it itself
-- ARGV[8] for a chosen id, 'replace' (see claim_id in _lib.lua); '' otherwise
-- ARGV[9..] field, value pairs of the job hash, rl_key and rl_concurrency among them
-- Returns the job's status, 'queued' or 'rate_limited'; an error
-- 'DUPLICATE <status>' when the job with this id is kept, or 'WRONGTYPE ...'
-- before any change when the queue's keys hold other types of data.
local id, now = ARGV[1], ARGV[2]
local bad = {}
if not (sound(bad, KEYS[2], 'list') and sound(bad, KEYS[3], 'zset')) then
  return redis.error_reply('WRONGTYPE ' .. bad[1] .. ' is not a queue: nothing was enqueued')
end
if #KEYS > 4 then
  local duplicate = claim_id(KEYS[1], id, {KEYS[5], KEYS[6], KEYS[7]}, ARGV[8],
                             {KEYS[2], KEYS[3], KEYS[8]})
  if duplicate then return redis.error_reply(duplicate) end
end
write_job(KEYS[1], 'queued', now, ARGV[4], ARGV, 9)
local status = push(KEYS[2], KEYS[3], KEYS[1], id, ARGV[3] == '1', now, ARGV[5],
                    tonumber(ARGV[6]))
if ARGV[7] ~= '' then redis.call('SADD', KEYS[4], ARGV[7]) end
return status
