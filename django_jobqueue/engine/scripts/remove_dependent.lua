-- Forget a child on its parent: the child no longer waits for it (a canceled
-- child, with cancel(remove_from_dependencies=True)).
-- KEYS[1] parent job hash
-- ARGV[1] child job key
-- Returns 1 when the child was listed, else 0 (also when the parent is gone).
local raw = redis.call('HGET', KEYS[1], 'dependents')
if not raw then return 0 end
local kept, found = {}, 0
for _, key in ipairs(cjson.decode(raw)) do
  if key == ARGV[1] then found = 1 else table.insert(kept, key) end
end
if found == 0 then return 0 end
if #kept == 0 then
  redis.call('HDEL', KEYS[1], 'dependents')
else
  redis.call('HSET', KEYS[1], 'dependents', cjson.encode(kept))
end
return 1
