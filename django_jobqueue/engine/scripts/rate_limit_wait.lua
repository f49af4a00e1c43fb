-- Make a job wait for a slot of a rate limit (RateLimitRegistry.add_to_rate_limited):
-- add it to the limit's waiting set and the queue's rate_limited registry, and
-- name the limit among the queue's limits, in one step. The job's hash is left
-- as it is (its status is the caller's to set).
-- KEYS[1] the limit's hash   KEYS[2] its waiting set   KEYS[3] rate_limited registry
-- KEYS[4] the queue's set of rate limit keys
-- ARGV[1] job id   ARGV[2] now   ARGV[3] its score in the waiting set (lowest
-- first); '' for the next number of the limit's count   ARGV[4] the rate limit's key
local score = tonumber(ARGV[3]) or redis.call('HINCRBY', KEYS[1], 'seq', 1)
redis.call('ZADD', KEYS[2], score, ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[1])
redis.call('SADD', KEYS[4], ARGV[4])
return 1
