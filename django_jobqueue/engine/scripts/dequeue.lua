-- Take the next job from the first non-empty queue and mark it started, so that
-- a job is always either in its queue or in the started registry.
-- KEYS: three per queue, in priority order: queue list, started registry, job key prefix.
-- ARGV[1] now   ARGV[2] worker name   ARGV[3] seconds until the job counts as abandoned
-- Returns nil when every queue is empty, else {queue position (1-based), job id, job hash as a flat list}.
-- Ids whose job expired, was deleted or is no longer queued are dropped on the way.
local now, worker = ARGV[1], ARGV[2]
local deadline = tonumber(now) + tonumber(ARGV[3])
for i = 1, #KEYS, 3 do
  while true do
    local id = redis.call('LPOP', KEYS[i])
    if not id then break end
    local job = KEYS[i + 2] .. id
    if redis.call('HGET', job, 'status') == 'queued' then
      redis.call('ZADD', KEYS[i + 1], deadline, id)
      redis.call('HSET', job, 'status', 'started', 'started_at', now, 'worker', worker)
      redis.call('HDEL', job, 'ended_at')
      redis.call('PERSIST', job)
      return {(i + 2) / 3, id, redis.call('HGETALL', job)}
    end
  end
end
return nil
