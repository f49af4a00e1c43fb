-- Put a job in one of its queue's registries (RQ's registry.add()), keeping it
-- in one place: a job that has a hash leaves its queue and the queue's other
-- registries and takes the status the registry is named after. A running job
-- is refused: it leaves the started registry when its worker ends it. An id
-- with no job hash is just recorded. With an empty ARGV[3] (a registry that is
-- no status's, RQ's BaseRegistry) only the entry is written.
-- KEYS[1] job hash   KEYS[2] queue list   KEYS[3] priority set
-- KEYS[4] the registry   KEYS[5..] the queue's other status registries
-- ARGV[1] job id   ARGV[2] score ('+inf' or a number)   ARGV[3] status, or ''
-- ARGV[4] '1': only update an entry that exists (ZADD XX)
-- ARGV[5] seconds to keep the job hash: '' leave it, '-1' for ever
-- ARGV[6] exc_info to store ('' leaves it)
-- Returns the ZADD reply (1: a new entry); an error 'NOT_MOVABLE <status>'.
local id, score, status = ARGV[1], ARGV[2], ARGV[3]
if ARGV[4] == '1' and not redis.call('ZSCORE', KEYS[4], id) then return 0 end
if status ~= '' then
  local old = redis.call('HGET', KEYS[1], 'status')
  if old == 'started' and status ~= 'started' then
    return redis.error_reply('NOT_MOVABLE ' .. old)
  end
  if old then
    if old == 'queued' then
      redis.call('LREM', KEYS[2], 0, id)
      redis.call('ZREM', KEYS[3], id)
    end
    for i = 5, #KEYS do redis.call('ZREM', KEYS[i], id) end
    redis.call('HSET', KEYS[1], 'status', status)
    if ARGV[6] ~= '' then set_exc_info(KEYS[1], ARGV[6]) end
    local keep = tonumber(ARGV[5])
    if keep and keep < 0 then
      redis.call('PERSIST', KEYS[1])
    elseif keep then
      redis.call('EXPIRE', KEYS[1], math.max(keep, 1))
    end
  end
end
return redis.call('ZADD', KEYS[4], score, id)
