-- Give up the scheduler lock, if this scheduler still holds it.
-- KEYS[1] the lock
-- ARGV[1] this scheduler's token
-- Returns 1 when released, 0 when another scheduler (or none) held it.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
