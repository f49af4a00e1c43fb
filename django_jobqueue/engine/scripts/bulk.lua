-- Act on the jobs a registry held at one moment, once each (see engine/bulk.py).
-- ARGV[1] is the step: 'select' records the moment, 'requeue' and 'delete' act on
-- one batch of what was recorded.
--
-- 'select' copies a registry's live entries into a selection (a sorted set
-- that expires): KEYS[1] selection   KEYS[2] registry
-- ARGV[2] seconds the selection is kept   ARGV[3] lowest live score, exclusive
-- ('' for a registry whose entries do not expire). Returns how many it holds.
--
-- 'requeue' / 'delete' take up to ARGV[2] ids off the selection and act on each
-- one that is still in the registry: a job that left it since (requeued,
-- deleted, expired) is skipped, and so is one that came back to it, since its
-- id left the selection the first time. Skipped too: a job to requeue that can
-- no longer be, and an id to delete whose job had vanished (the id is removed). A job is moved in one step, so it is
-- never in two places.
-- KEYS[1] selection   KEYS[2] registry walked   KEYS[3] job key prefix
-- KEYS[4] queue list   KEYS[5] priority set
-- KEYS[6..11] started, finished, failed, deferred, canceled, scheduled registries
-- ARGV[3] now   ARGV[4] wake channel   ARGV[5] as ARGV[3] of 'select'
-- Returns {acted on, skipped, ids left in the selection, then for each deleted
-- job with dependents: its id and its dependents JSON}.
-- The requeue and the delete do what requeue.lua and delete.lua do for one job.
local step = ARGV[1]
if step == 'select' then
  if ARGV[3] == '' then
    redis.call('ZRANGESTORE', KEYS[1], KEYS[2], 0, -1)
  else
    redis.call('ZRANGESTORE', KEYS[1], KEYS[2], '(' .. ARGV[3], '+inf', 'BYSCORE')
  end
  redis.call('EXPIRE', KEYS[1], tonumber(ARGV[2]))
  return redis.call('ZCARD', KEYS[1])
end

local now, live_min = ARGV[3], tonumber(ARGV[5])
local popped = redis.call('ZPOPMIN', KEYS[1], tonumber(ARGV[2]))
local done, skipped, released = 0, 0, {}
for i = 1, #popped, 2 do
  local id = popped[i]
  local job = KEYS[3] .. id
  local score = redis.call('ZSCORE', KEYS[2], id)
  local status = redis.call('HGET', job, 'status')
  if not score then
    skipped = skipped + 1
  elseif step == 'requeue' then
    if (live_min and tonumber(score) <= live_min)
        or (status ~= 'failed' and status ~= 'stopped' and status ~= 'canceled') then
      skipped = skipped + 1
    else
      redis.call('ZREM', KEYS[8], id)
      redis.call('ZREM', KEYS[10], id)
      redis.call('HDEL', job, 'exc_info', 'started_at', 'ended_at', 'result', 'worker')
      redis.call('PERSIST', job)
      if redis.call('HEXISTS', job, 'pending') == 1 then
        redis.call('HSET', job, 'status', 'deferred')
        redis.call('ZADD', KEYS[9], now, id)
      else
        redis.call('HSET', job, 'status', 'queued', 'enqueued_at', now)
        push(KEYS[4], KEYS[5], job, id, false, now, ARGV[4])
      end
      done = done + 1
    end
  else
    -- As delete.lua: the id goes from everywhere, even when its job had vanished.
    if status == 'queued' then
      redis.call('LREM', KEYS[4], 0, id)
      redis.call('ZREM', KEYS[5], id)
    end
    for k = 6, 11 do redis.call('ZREM', KEYS[k], id) end
    if status then
      local dependents = redis.call('HGET', job, 'dependents')
      redis.call('DEL', job)
      if dependents and dependents ~= '[]' then
        table.insert(released, id)
        table.insert(released, dependents)
      end
      done = done + 1
    else
      skipped = skipped + 1
    end
  end
end
local result = {done, skipped, redis.call('ZCARD', KEYS[1])}
for _, value in ipairs(released) do table.insert(result, value) end
return result
