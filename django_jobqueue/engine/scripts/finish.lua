-- Record a job's success: out of the started registry, into the finished one;
-- then, when asked, take the worker's next job in the same step.
-- KEYS[1] job hash   KEYS[2] started registry   KEYS[3] finished registry
-- KEYS[4..] optional: the worker's queues, four keys each, as for dequeue.lua
-- ARGV[1] job id   ARGV[2] now   ARGV[3] result_ttl (0: delete the job, -1: keep forever)
-- ARGV[4] serialized result   ARGV[5] worker name that ran it
-- ARGV[6] the job's score in the finished registry (now + result_ttl), as text
-- ARGV[7] the run's length in seconds, as text ('' when unknown), kept as
--         'duration' for the dashboard's sort; the caller knows it, which saves
--         this script a read and a conversion (fail.lua works it out)
-- ARGV[8] the next job's score in its started registry (see take_next), with KEYS[4..]
-- A registry of the wrong type (a string, say) is passed over and named in the
-- reply; the job's hash still records the outcome.
-- Returns, encoded by reply(): dependents JSON, or false when the job was no
-- longer this worker's (deleted, stopped, canceled or given up as abandoned meanwhile);
-- the keys found of the wrong type ('' for none); then the next job, if one
-- was taken.
local id, now = ARGV[1], ARGV[2]
local broken = {}
local function next_job()
  if #KEYS > 3 then
    local job, bad = take_next(KEYS, 4, now, ARGV[5], ARGV[8])
    for _, key in ipairs(bad) do broken[#broken + 1] = key end
    return job
  end
  return nil
end
-- The head, then the keys found of the wrong type (see try_call), then the next job.
-- (next_job() is called as an argument, so before broken is read.)
local function answer(head, job)
  head[#head + 1] = table.concat(broken, ' ')
  return reply(head, job)
end
local state = redis.call('HMGET', KEYS[1], 'status', 'worker', 'dependents', 'exc_info',
                         'returned_retry')
if state[1] ~= 'started' or state[2] ~= ARGV[5] then
  -- Canceled while it ran (see cancel.lua): it stays canceled, its dependents
  -- stay deferred, and its result is kept, as in RQ.
  if state[1] == 'canceled' and state[2] == ARGV[5] and tonumber(ARGV[3]) ~= 0 then
    redis.call('HSET', KEYS[1], 'result', ARGV[4])
  end
  return answer({false}, next_job())
end
if state[3] then
  -- Dependents are released after this script; taking the next job now could
  -- pass over one of them that belongs at the front.
  next_job = function() return nil end
end
try_call(broken, 'ZREM', KEYS[2], id)
local dependents = state[3] or '[]'
local ttl = tonumber(ARGV[3])
if ttl == 0 then
  redis.call('DEL', KEYS[1])
  return answer({dependents}, next_job())
end
redis.call('HSET', KEYS[1], 'status', 'finished', 'ended_at', now,
           'duration', ARGV[7], 'result', ARGV[4])
-- The outcome of an earlier run (a traceback, a returned Retry) is replaced.
if state[4] or state[5] then
  redis.call('HDEL', KEYS[1], 'exc_info', 'exc_line', 'returned_retry')
end
if ttl > 0 then
  redis.call('EXPIRE', KEYS[1], ttl)
  try_call(broken, 'ZADD', KEYS[3], ARGV[6], id)
else
  try_call(broken, 'ZADD', KEYS[3], '+inf', id)
end
return answer({dependents}, next_job())
