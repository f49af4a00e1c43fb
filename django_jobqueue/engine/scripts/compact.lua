-- Take out of a queue one batch of ids whose job is gone (its hash expired or
-- was deleted by hand) or is not queued; callers repeat it from the offset it
-- returns, so a huge queue never blocks Redis in one long script.
-- KEYS[1] queue list   KEYS[2] priority set   KEYS[3] job key prefix
-- ARGV[1] 'list' or 'priority'   ARGV[2] offset   ARGV[3] batch size
-- Returns {ids removed, offset of the next batch, 1 when that part is done}.
local offset, n = tonumber(ARGV[2]), tonumber(ARGV[3])
local ids
if ARGV[1] == 'list' then
  ids = redis.call('LRANGE', KEYS[1], offset, offset + n - 1)
else
  ids = redis.call('ZRANGE', KEYS[2], offset, offset + n - 1)
end
local removed = 0
for _, id in ipairs(ids) do
  if redis.call('HGET', KEYS[3] .. id, 'status') ~= 'queued' then
    if ARGV[1] == 'list' then
      redis.call('LREM', KEYS[1], 1, id)
    else
      redis.call('ZREM', KEYS[2], id)
    end
    removed = removed + 1
  end
end
return {removed, offset + #ids - removed, #ids < n and 1 or 0}
