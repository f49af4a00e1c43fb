-- Create a job and put it where it belongs, in one step.
-- KEYS[1] job hash             KEYS[2] queue list
-- KEYS[3] deferred registry    KEYS[4] scheduled registry    KEYS[5] started registry
-- KEYS[6] finished registry    KEYS[7] failed registry       KEYS[8] canceled registry
-- KEYS[9] priority set
-- ARGV[1] job id
-- ARGV[2] target status: queued | deferred | scheduled | started
-- ARGV[3] registry score (queued and deferred: now; scheduled: due time; started: heartbeat deadline)
-- ARGV[4] '1' to push at the front of the queue
-- ARGV[5] ttl in seconds while waiting, '' for none
-- ARGV[6] wake channel
-- ARGV[7..] field, value pairs of the job hash
-- Returns 1; an error 'DUPLICATE <status>' when a live job already has this id.
local id, target = ARGV[1], ARGV[2]
local old = redis.call('HGET', KEYS[1], 'status')
if old == 'queued' or old == 'started' or old == 'deferred' or old == 'scheduled' then
  return redis.error_reply('DUPLICATE ' .. old)
end
if old then
  -- An ended job with the same id is replaced, with every trace of it.
  redis.call('DEL', KEYS[1])
  for i = 6, 8 do redis.call('ZREM', KEYS[i], id) end
end
redis.call('HSET', KEYS[1], 'status', target, unpack(ARGV, 7))
if ARGV[5] ~= '' then redis.call('EXPIRE', KEYS[1], ARGV[5]) end
if target == 'queued' then
  push(KEYS[2], KEYS[9], KEYS[1], id, ARGV[4] == '1', ARGV[3])
  redis.call('PUBLISH', ARGV[6], id)
elseif target == 'deferred' then
  redis.call('ZADD', KEYS[3], ARGV[3], id)
elseif target == 'scheduled' then
  redis.call('ZADD', KEYS[4], ARGV[3], id)
elseif target == 'started' then
  redis.call('ZADD', KEYS[5], ARGV[3], id)
else
  return redis.error_reply('BAD_TARGET ' .. target)
end
return 1
