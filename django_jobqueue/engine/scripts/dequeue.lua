-- Take the next job from the first non-empty queue and mark it started, so that
-- a job is always either in its queue or in the started registry.
-- KEYS: four per queue, in priority order: queue list, priority set, started registry,
-- job key prefix. Within a queue, jobs of positive priority come first, then the list,
-- then jobs of negative priority (see _push.lua).
-- ARGV[1] now   ARGV[2] worker name   ARGV[3] seconds until the job counts as abandoned
-- Returns nil when every queue is empty, else {queue position (1-based), job id, job hash as a flat list}.
-- Ids whose job expired, was deleted or is no longer queued are dropped on the way.
local now, worker = ARGV[1], ARGV[2]
local deadline = tonumber(now) + tonumber(ARGV[3])
local function next_id(list, prio)
  local head = redis.call('ZRANGE', prio, 0, 0, 'WITHSCORES')
  if head[1] and tonumber(head[2]) < 100 * PRIORITY_BAND then
    redis.call('ZREM', prio, head[1])
    return head[1]
  end
  local id = redis.call('LPOP', list)
  if id then return id end
  if head[1] then
    redis.call('ZREM', prio, head[1])
    return head[1]
  end
  return nil
end
for i = 1, #KEYS, 4 do
  while true do
    local id = next_id(KEYS[i], KEYS[i + 1])
    if not id then break end
    local job = KEYS[i + 3] .. id
    if redis.call('HGET', job, 'status') == 'queued' then
      redis.call('ZADD', KEYS[i + 2], deadline, id)
      redis.call('HSET', job, 'status', 'started', 'started_at', now, 'worker', worker)
      redis.call('HDEL', job, 'ended_at')
      redis.call('PERSIST', job)
      return {(i + 3) / 4, id, redis.call('HGETALL', job)}
    end
  end
end
return nil
