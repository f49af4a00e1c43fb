-- Move scheduled jobs whose time has come into their queue, one batch per call.
-- A job goes to the front when enqueued with at_front, or when it is a retry
-- (it ran before: 'ended_at') with Retry(enqueue_at_front=True).
-- KEYS[1] scheduled registry   KEYS[2] queue list   KEYS[3] job key prefix
-- KEYS[4] priority set
-- ARGV[1] now   ARGV[2] batch size   ARGV[3] wake channel
-- Returns {entries taken off the registry, jobs that entered the queue}; an
-- error 'WRONGTYPE <key> ...', before any change, when the queue's list or
-- priority set holds another type of data. A job whose key is not a hash is
-- dropped from the registry.
for _, pair in ipairs({{KEYS[2], 'list'}, {KEYS[4], 'zset'}}) do
  local kind = redis.call('TYPE', pair[1])['ok']
  if kind ~= pair[2] and kind ~= 'none' then
    return redis.error_reply('WRONGTYPE ' .. pair[1] .. ' holds a ' .. kind .. ', not a ' .. pair[2])
  end
end
local ids = redis.call('ZRANGE', KEYS[1], '-inf', ARGV[1], 'BYSCORE', 'LIMIT', 0, tonumber(ARGV[2]))
local moved = 0
for _, id in ipairs(ids) do
  redis.call('ZREM', KEYS[1], id)
  local job = KEYS[3] .. id
  if redis.pcall('HGET', job, 'status') == 'scheduled' then
    redis.call('HSET', job, 'status', 'queued', 'enqueued_at', ARGV[1])
    -- A retry that waited goes to the front with Retry(enqueue_at_front=True), as in RQ.
    local front = redis.call('HMGET', job, 'at_front', 'retry_at_front', 'ended_at')
    local at_front = front[1] == '1' or (front[2] == '1' and front[3] ~= false)
    push(KEYS[2], KEYS[4], job, id, at_front, ARGV[1], ARGV[3])
    moved = moved + 1
  end
end
return {#ids, moved}
