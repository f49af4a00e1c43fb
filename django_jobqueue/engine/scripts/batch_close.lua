-- Close a batch (see batches.py): no job is added to it any more, except by
-- the jobs it still has running. The batch hash is a parent of the callback
-- jobs; its status goes from 'open' to 'finished', as a finished job's would,
-- and the caller then releases the callbacks from it (release.lua). The
-- deferred sweep (registry.py) finishes that release if the caller dies first.
-- KEYS[1] batch hash
-- ARGV[1] now
-- Returns 1 when this call closed the batch, 0 when it was closed already,
-- or the error NO_SUCH_BATCH.
local state = redis.call('HGET', KEYS[1], 'status')
if not state then return redis.error_reply('NO_SUCH_BATCH') end
if state ~= 'open' then return 0 end
redis.call('HSET', KEYS[1], 'status', 'finished', 'closed_at', ARGV[1])
return 1
