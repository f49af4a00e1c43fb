-- Shared by every script that puts a job into its queue (prepended by the loader).
-- A job with priority 0 goes to the queue list (FIFO, or the front with at_front);
-- any other priority goes to the queue's priority set, scored so that a higher
-- priority comes first and, within one priority, the earlier push: the dequeue
-- script serves positive priorities before the list and negative ones after it.
local PRIORITY_BAND = 1e13  -- above any millisecond timestamp
local function push(list_key, prio_key, job_key, id, at_front, now)
  local priority = tonumber(redis.call('HGET', job_key, 'priority') or '0') or 0
  if priority ~= 0 then
    redis.call('ZADD', prio_key, (100 - priority) * PRIORITY_BAND + math.floor(tonumber(now) * 1000), id)
  elseif at_front then
    redis.call('LPUSH', list_key, id)
  else
    redis.call('RPUSH', list_key, id)
  end
end
