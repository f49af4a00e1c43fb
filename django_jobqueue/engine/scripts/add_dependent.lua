-- Record on a parent job that a child waits for it, and report the parent's
-- status in the same step, so that the parent's completion cannot slip between
-- the child's check and its registration.
-- KEYS[1] parent job hash
-- ARGV[1] child job key
-- Returns the parent's status, or nil when the parent does not exist.
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return nil end
local raw = redis.call('HGET', KEYS[1], 'dependents')
local dependents = raw and cjson.decode(raw) or {}
for _, key in ipairs(dependents) do
  if key == ARGV[1] then return status end
end
table.insert(dependents, ARGV[1])
redis.call('HSET', KEYS[1], 'dependents', cjson.encode(dependents))
return status
