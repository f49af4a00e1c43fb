-- Free the slots of a rate limit's jobs that no longer need one, then let its
-- oldest waiting jobs into their queue while it has free slots, in one step.
-- A job needs its slot while it is queued or started; one that ended, waits
-- (scheduled, deferred) or is gone frees it (it takes a slot again when it
-- next enters its queue). A limit left with no job is forgotten.
-- KEYS[1] queue list   KEYS[2] priority set   KEYS[3] job key prefix
-- KEYS[4] the limit's hash   KEYS[5] its allowed set   KEYS[6] its waiting set
-- KEYS[7] rate_limited registry   KEYS[8] the queue's set of rate limit keys
-- ARGV[1] the job whose slot to check; '' to check every job holding one (a sweep)
-- ARGV[2] now   ARGV[3] wake channel   ARGV[4] the rate limit's key
-- ARGV[5] its concurrency; '' for the one recorded in KEYS[4] (0 when none)
-- ARGV[6] with a job in ARGV[1]: 'stale' frees its slot only when it no longer
--         needs it, and admits jobs only when a slot was freed (it held none:
--         nothing changes); 'force' frees its slot whatever its status, then
--         admits jobs; 'cancel' is 'stale' after taking the job off the waiting
--         set (and the registry, unless it still waits). With '' in ARGV[1]:
--         'stale' sweeps every slot; 'fill' frees none, only admits jobs.
--         'force' and 'fill' (RQ's calls by hand) leave an empty limit for
--         the next sweep to forget; the others forget it at once.
-- Returns {slots freed, then the ids let into the queue, oldest first}; an
-- error 'WRONGTYPE ...' before any change when the queue's keys hold other
-- types of data.
local now = ARGV[2]
local bad = {}
if not (sound(bad, KEYS[1], 'list') and sound(bad, KEYS[2], 'zset')) then
  return redis.error_reply('WRONGTYPE ' .. bad[1] .. ' is not a queue: nothing was changed')
end
local mode = ARGV[6]
local holders = {ARGV[1]}
if mode == 'fill' then
  holders = {}
elseif ARGV[1] == '' then
  holders = redis.call('ZRANGE', KEYS[5], 0, -1)
elseif mode == 'cancel' then
  redis.call('ZREM', KEYS[6], ARGV[1])
  if redis.pcall('HGET', KEYS[3] .. ARGV[1], 'status') ~= 'rate_limited' then
    redis.call('ZREM', KEYS[7], ARGV[1])
  end
end
local freed = 0
for _, id in ipairs(holders) do
  local status = redis.pcall('HGET', KEYS[3] .. id, 'status')
  if mode == 'force' or (status ~= 'queued' and status ~= 'started') then
    freed = freed + redis.call('ZREM', KEYS[5], id)
  end
end
local concurrency = tonumber(ARGV[5]) or tonumber(redis.call('HGET', KEYS[4], 'concurrency')) or 0
local result = {freed}
if ARGV[1] ~= '' and mode ~= 'force' and freed == 0 then concurrency = 0 end
rate_admit(KEYS[1], KEYS[2], KEYS[3], KEYS[5], KEYS[6], KEYS[7], concurrency, now, ARGV[3],
           result)
if mode ~= 'force' and mode ~= 'fill'
   and redis.call('ZCARD', KEYS[5]) == 0 and redis.call('ZCARD', KEYS[6]) == 0 then
  redis.call('SREM', KEYS[8], ARGV[4])
  redis.call('DEL', KEYS[4])
end
return result
