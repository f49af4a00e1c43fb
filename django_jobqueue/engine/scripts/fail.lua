-- Record a job's failure (or a run that returned a Retry): retry it if it has
-- retries left, else move it to the failed registry; then, when asked, take
-- the worker's next job in the same step.
-- KEYS[1] job hash   KEYS[2] started registry   KEYS[3] failed registry
-- KEYS[4] queue list KEYS[5] scheduled registry   KEYS[6] priority set
-- KEYS[7] the set of queue names (on Redis Cluster: any key of this queue's)
-- KEYS[8..] optional: the worker's queues, four keys each, as for dequeue.lua
-- ARGV[1] job id   ARGV[2] now   ARGV[3] failure_ttl (0: delete, -1: keep forever)
-- ARGV[4] exc_info text ('' for a returned Retry: none is kept)
-- ARGV[5] worker name that ran it
-- ARGV[6] retry delay in seconds, '' when the job is not retried (without a
--         delay it goes back to the front of the queue when its hash's
--         retry_at_front field is '1', Retry(enqueue_at_front=True))
-- ARGV[7] wake channel   ARGV[8] final status: 'failed' or 'stopped'
-- ARGV[9] '1' to act only if the job's heartbeat deadline has passed (abandoned jobs)
-- ARGV[10] the queue's name, added to KEYS[7] when the job is retried (see
--          enqueue.lua); '' when the caller adds it itself
-- ARGV[11] the Retry the job returned instead of raising, as Retry.dumps() wrote
--          it ('' when it raised): while the hash's 'returned_retries' is below
--          its max the job is retried (and that count goes up, not
--          retries_left), else it fails; it waits ARGV[6] when given (a Retry
--          with backoff, cap or jitter, worked out by the caller), else its
--          interval for that count. The hash keeps it in 'returned_retry' (no
--          exc_info) for results.py.
-- ARGV[12] the next job's score in its started registry (see take_next), with
--          KEYS[8..]; else ''
-- ARGV[13] '1' when the retry in ARGV[6] is one the job asked for by raising
--          RetryLater without a retry option: 'returned_retries' counts it,
--          not 'retries_left' (the caller checked the limit); else 
-- A job someone asked to stop (its 'stop_requested' field, see stop_job) ends
-- as stopped and is not retried, whatever ARGV[6] and ARGV[8] say: its worker
-- may have died before it could act on the request.
-- A registry of the wrong type (a string, say) is passed over and named in the
-- reply; the job's hash still records the outcome.
-- Returns, encoded by reply(): the new status, or false when the job was no
-- longer this worker's; dependents JSON; the keys found of the wrong type (''
-- for none); then the next job, if one was taken.
local id, now = ARGV[1], ARGV[2]
local broken = {}
local function next_job()
  if #KEYS > 7 then
    local job, bad = take_next(KEYS, 8, now, ARGV[5], ARGV[12])
    for _, key in ipairs(bad) do table.insert(broken, key) end
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
local state = redis.call('HMGET', KEYS[1], 'status', 'worker', 'dependents', 'stop_requested',
                         'retry_at_front', 'returned_retries', 'rl_key', 'started_at')
if state[1] ~= 'started' or state[2] ~= ARGV[5] then
  return answer({false, '[]'}, next_job())
end
if state[3] then
  -- Dependents are released after this script (see finish.lua).
  next_job = function() return nil end
end
if ARGV[9] == '1' then
  local deadline = redis.call('ZSCORE', KEYS[2], id)
  if deadline and tonumber(deadline) > tonumber(now) then return answer({false, '[]'}, nil) end
end
local retry_in, final = ARGV[6], ARGV[8]
local at_front = state[5] == '1'
local returned = ARGV[11] ~= '' and cjson.decode(ARGV[11]) or nil
if returned then
  local count = tonumber(state[6]) or 0
  retry_in = ''
  if count < returned.max then
    local intervals = returned.intervals
    retry_in = ARGV[6] ~= '' and ARGV[6] or tostring(intervals[math.min(count + 1, #intervals)])
    at_front = at_front or returned.at_front
  end
end
if state[4] then retry_in, final, returned = '', 'stopped', nil end
if retry_in ~= '' and not (sound(broken, KEYS[4], 'list') and sound(broken, KEYS[6], 'zset')
                           and sound(broken, KEYS[5], 'zset')) then
  retry_in = ''  -- nowhere sound to wait for the retry: the job fails
end
try_call(broken, 'ZREM', KEYS[2], id)
-- A job of a rate limit frees its slot in this step unless it is retried at
-- once (then it keeps it), so that an abandoned job's slot comes back with it.
if state[7] and (retry_in == '' or tonumber(retry_in) > 0)
   and sound(broken, KEYS[4], 'list') and sound(broken, KEYS[6], 'zset') then
  rate_free(KEYS[4], KEYS[6], KEYS[1], id, state[7], now, ARGV[7])
end
-- The latest outcome replaces the one before: a traceback, or a returned Retry.
redis.call('HDEL', KEYS[1], 'exc_info', 'exc_line', 'returned_retry')
redis.call('HSET', KEYS[1], 'ended_at', now, 'duration', run_seconds(state[8], now))
if ARGV[4] ~= '' then set_exc_info(KEYS[1], ARGV[4]) end
if returned then redis.call('HSET', KEYS[1], 'returned_retry', ARGV[11]) end
if retry_in ~= '' then
  if ARGV[10] ~= '' then redis.call('SADD', KEYS[7], ARGV[10]) end
  if returned then
    redis.call('HINCRBY', KEYS[1], 'returned_retries', 1)
    -- Kept, so the scheduler puts a retry that waited at the front too (enqueue_due.lua).
    if returned.at_front then redis.call('HSET', KEYS[1], 'retry_at_front', '1') end
  elseif ARGV[13] == '1' then
    redis.call('HINCRBY', KEYS[1], 'returned_retries', 1)
  else
    redis.call('HINCRBY', KEYS[1], 'retries_left', -1)
  end
  local delay = tonumber(retry_in)
  if delay > 0 then
    redis.call('HSET', KEYS[1], 'status', 'scheduled')
    redis.call('ZADD', KEYS[5], tonumber(now) + delay, id)
    return answer({'scheduled', '[]'}, next_job())
  end
  redis.call('HSET', KEYS[1], 'status', 'queued', 'enqueued_at', now)
  push(KEYS[4], KEYS[6], KEYS[1], id, at_front, now, ARGV[7])
  return answer({'queued', '[]'}, next_job())
end
local dependents = state[3] or '[]'
local ttl = tonumber(ARGV[3])
if ttl == 0 then
  redis.call('DEL', KEYS[1])
  return answer({final, dependents}, next_job())
end
redis.call('HSET', KEYS[1], 'status', final)
if ttl > 0 then
  redis.call('EXPIRE', KEYS[1], ttl)
  try_call(broken, 'ZADD', KEYS[3], tonumber(now) + ttl, id)
else
  try_call(broken, 'ZADD', KEYS[3], '+inf', id)
end
return answer({final, dependents}, next_job())
