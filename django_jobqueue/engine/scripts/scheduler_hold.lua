-- Take the scheduler lock, or keep it: one scheduler is active per key prefix.
-- KEYS[1] the lock
-- ARGV[1] this scheduler's token   ARGV[2] the lock's time to live in milliseconds
-- Returns 2 when taken now, 1 when kept (its expiry pushed back), 0 when another
-- scheduler holds it.
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if holder then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 2
