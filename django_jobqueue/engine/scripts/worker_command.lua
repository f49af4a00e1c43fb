-- Leave a command ('shutdown' or 'kill-horse') on a worker's registration; the
-- worker reads and removes it within about a second (at once when idle: the
-- caller also publishes on the worker's wake channel).
-- KEYS[1] worker hash
-- ARGV[1] the command
-- Returns 1, or 0 when no such worker is registered (it died or stopped), so
-- that no orphan hash is created.
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'command', ARGV[1])
return 1
