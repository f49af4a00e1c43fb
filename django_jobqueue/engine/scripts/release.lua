-- Tell a deferred child that one of its parents is done; when no parent is
-- pending any more, move the child from the deferred registry to its queue.
-- Calling it twice for the same parent is harmless.
-- KEYS[1] child job hash   KEYS[2] child's queue list   KEYS[3] child's deferred registry
-- KEYS[4] child's priority set
-- ARGV[1] child id   ARGV[2] parent job key
-- ARGV[3] how the parent ended: finished | failed | stopped | canceled | deleted
-- ARGV[4] now   ARGV[5] wake channel
-- Returns 1 when the child entered its queue, else 0.
if redis.call('HGET', KEYS[1], 'status') ~= 'deferred' then return 0 end
if ARGV[3] ~= 'finished' and redis.call('HGET', KEYS[1], 'allow_failure') ~= '1' then
  return 0
end
local raw = redis.call('HGET', KEYS[1], 'pending')
local rest = {}
if raw then
  for _, key in ipairs(cjson.decode(raw)) do
    if key ~= ARGV[2] then table.insert(rest, key) end
  end
end
if #rest > 0 then
  redis.call('HSET', KEYS[1], 'pending', cjson.encode(rest))
  return 0
end
redis.call('HDEL', KEYS[1], 'pending')
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('HSET', KEYS[1], 'status', 'queued', 'enqueued_at', ARGV[4])
push(KEYS[2], KEYS[4], KEYS[1], ARGV[1], redis.call('HGET', KEYS[1], 'at_front') == '1', ARGV[4], ARGV[5])
return 1
