-- Put a job id in a queue by hand (RQ's Queue.push_job_id).
-- KEYS[1] queue list   KEYS[2] priority set   KEYS[3] job key
-- KEYS[4] the set of queue names (the queue list on Redis Cluster, see _listing)
-- ARGV[1] job id   ARGV[2] '1' at the front   ARGV[3] now   ARGV[4] wake channel
-- ARGV[5] the queue's name for that set ('' on Redis Cluster)
-- A job that was only created (saved, in no queue or registry) becomes
-- queued, as enqueue would make it; an id whose hash is gone is pushed as is
-- (a worker passes it over, compact() takes it out). A job that is anywhere
-- else is refused: it would be in two places.
-- Returns the job's status ('queued', 'rate_limited'), or nil for an id without
-- a hash; an error 'NOT_PUSHABLE <status>' for a job that is elsewhere.
local status = redis.call('HGET', KEYS[3], 'status')
if status == 'queued' then return 'queued' end
if status and status ~= 'created' then
  return redis.error_reply('NOT_PUSHABLE ' .. status)
end
if ARGV[5] ~= '' then redis.call('SADD', KEYS[4], ARGV[5]) end
if not status then
  if ARGV[2] == '1' then redis.call('LPUSH', KEYS[1], ARGV[1])
  else redis.call('RPUSH', KEYS[1], ARGV[1]) end
  return nil
end
redis.call('HSET', KEYS[3], 'status', 'queued', 'enqueued_at', ARGV[3])
local pushed = push(KEYS[1], KEYS[2], KEYS[3], ARGV[1], ARGV[2] == '1', ARGV[3], ARGV[4])
return pushed
