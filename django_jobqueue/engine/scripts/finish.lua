-- Record a job's success: out of the started registry, into the finished one.
-- KEYS[1] job hash   KEYS[2] started registry   KEYS[3] finished registry
-- ARGV[1] job id   ARGV[2] now   ARGV[3] result_ttl (0: delete the job, -1: keep forever)
-- ARGV[4] serialized result   ARGV[5] worker name that ran it
-- Returns the job's dependents (JSON list of job keys), or nil when the job is no
-- longer this worker's (deleted, stopped or given up as abandoned meanwhile).
local id = ARGV[1]
if redis.call('HGET', KEYS[1], 'status') ~= 'started'
   or redis.call('HGET', KEYS[1], 'worker') ~= ARGV[5] then
  return nil
end
redis.call('ZREM', KEYS[2], id)
local dependents = redis.call('HGET', KEYS[1], 'dependents') or '[]'
local ttl = tonumber(ARGV[3])
if ttl == 0 then
  redis.call('DEL', KEYS[1])
  return dependents
end
redis.call('HSET', KEYS[1], 'status', 'finished', 'ended_at', ARGV[2], 'result', ARGV[4])
redis.call('HDEL', KEYS[1], 'exc_info')
if ttl > 0 then
  redis.call('EXPIRE', KEYS[1], ttl)
  redis.call('ZADD', KEYS[3], tonumber(ARGV[2]) + ttl, id)
else
  redis.call('PERSIST', KEYS[1])
  redis.call('ZADD', KEYS[3], '+inf', id)
end
return dependents
