-- Forget the members of a group on one queue whose job is gone (expired after
-- it ended, or deleted by a script that does not know groups).
-- KEYS[1] the group's set of members on this queue   KEYS[2] the queue's job key prefix
-- Returns how many members are left (0: the set is gone).
local gone = {}
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if redis.call('EXISTS', KEYS[2] .. id) == 0 then table.insert(gone, id) end
end
for i = 1, #gone, 1000 do
  redis.call('SREM', KEYS[1], unpack(gone, i, math.min(i + 999, #gone)))
end
return redis.call('SCARD', KEYS[1])
