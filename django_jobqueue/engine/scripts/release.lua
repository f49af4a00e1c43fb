-- Tell a deferred child that one of its parents is done; when no parent is
-- pending any more, move the child from the deferred registry to its queue.
-- Calling it twice for the same parent is harmless.
-- A child whose hash says pending_set = '1' (a batch's callback, see batches.py)
-- keeps its pending parents in the set KEYS[5] instead of the JSON field:
-- removing one is O(1) there, where the JSON list costs its whole length, which
-- for a batch of N jobs would make ending them all O(N^2).
-- KEYS[1] child job hash   KEYS[2] child's queue list   KEYS[3] child's deferred registry
-- KEYS[4] child's priority set   KEYS[5] child's set of pending parents (keys.pending)
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
elseif redis.call('HGET', KEYS[1], 'pending_set') == '1' then
  redis.call('SREM', KEYS[5], ARGV[2])
  if redis.call('SCARD', KEYS[5]) > 0 then return 0 end
  redis.call('HDEL', KEYS[1], 'pending_set')
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
