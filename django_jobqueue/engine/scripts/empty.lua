-- Delete one batch of queued jobs from the head of a queue; callers repeat it
-- until it returns 0, so a huge queue never blocks Redis in one long script.
-- KEYS[1] queue list   KEYS[2] job key prefix   KEYS[3] priority set
-- ARGV[1] batch size
-- Returns how many ids were taken off the queue.
local n = tonumber(ARGV[1])
local ids = redis.call('LRANGE', KEYS[1], 0, n - 1)
redis.call('LTRIM', KEYS[1], #ids, -1)
if #ids < n then
  for _, id in ipairs(redis.call('ZRANGE', KEYS[3], 0, n - #ids - 1)) do
    redis.call('ZREM', KEYS[3], id)
    table.insert(ids, id)
  end
end
-- The results recorded through Result.create lie beside the jobs (keys.py:
-- <tag>:job:<id> and <tag>:results:<id>).
local results = string.sub(KEYS[2], 1, #KEYS[2] - 5) .. ':results:'
for _, id in ipairs(ids) do
  local job = KEYS[2] .. id
  if redis.call('HGET', job, 'status') == 'queued' then
    redis.call('DEL', job, results .. id)
  end
end
return #ids
