-- Add jobs to a batch (see batches.py), before they are stored: each callback
-- job of the batch gets them as parents it still waits for (in its set of
-- pending parents, see release.lua), unless one of the callbacks has been
-- released already, in which case the batch is complete and nothing is added.
-- Checking and adding in one step is what keeps a job from slipping into a
-- batch whose callbacks have fired.
-- KEYS[1] batch hash   KEYS[2] batch's set of job ids
-- KEYS[3..] for each callback job: its hash, then its set of pending parents
-- (none while a batch on an is_async=False queue is open: its callbacks are made at close)
-- ARGV[1] the queue's job key prefix   ARGV[2..] the new jobs' ids
-- Returns the batch's new total, or an error: NO_SUCH_BATCH, BATCH_COMPLETE.
local state = redis.call('HGET', KEYS[1], 'status')
if not state then return redis.error_reply('NO_SUCH_BATCH') end
if #KEYS == 2 and state ~= 'open' then return redis.error_reply('BATCH_COMPLETE') end
for i = 3, #KEYS, 2 do
  if redis.call('HGET', KEYS[i], 'status') ~= 'deferred' then
    return redis.error_reply('BATCH_COMPLETE')
  end
end
for j = 2, #ARGV do
  for i = 4, #KEYS, 2 do redis.call('SADD', KEYS[i], ARGV[1] .. ARGV[j]) end
  redis.call('SADD', KEYS[2], ARGV[j])
end
return redis.call('HINCRBY', KEYS[1], 'total', #ARGV - 1)
