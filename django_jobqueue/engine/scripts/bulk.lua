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
-- KEYS[6..12] started, finished, failed, deferred, canceled, scheduled, rate_limited
-- registries
-- ARGV[3] now   ARGV[4] wake channel   ARGV[5] as ARGV[3] of 'select'
-- Returns {acted on, skipped, ids left in the selection, then for each deleted
-- job with dependents: its id and its dependents JSON}.
-- The requeue and the delete are requeue_job and delete_job of _lib.lua, as in
-- requeue.lua and delete.lua.
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
local zsets = {KEYS[5], unpack(KEYS, 6, 12)}
local done, skipped, released = 0, 0, {}
for i = 1, #popped, 2 do
  local id = popped[i]
  local job = KEYS[3] .. id
  local score = redis.call('ZSCORE', KEYS[2], id)
  if not score then
    skipped = skipped + 1
  elseif step == 'requeue' then
    if (live_min and tonumber(score) <= live_min)
        or not requeue_job(job, id, KEYS[4], KEYS[5], KEYS[8], KEYS[10], KEYS[9], now, false,
                           ARGV[4]) then
      skipped = skipped + 1
    else
      done = done + 1
    end
  else
    local status, dependents = delete_job(job, id, KEYS[4], zsets)
    if not status then
      skipped = skipped + 1
    else
      if dependents ~= '[]' then
        table.insert(released, id)
        table.insert(released, dependents)
      end
      done = done + 1
    end
  end
end
local result = {done, skipped, redis.call('ZCARD', KEYS[1])}
for _, value in ipairs(released) do table.insert(result, value) end
return result
