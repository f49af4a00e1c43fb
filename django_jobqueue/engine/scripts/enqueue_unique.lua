-- Enqueue a job with a unique key (see unique.py) unless another job holds the
-- key, in one step; or, with ARGV[1] '', only say which job holds it.
-- Only jobs enqueued with unique_for come here: enqueue.lua, which every other
-- job uses, is left as it was. The steps after the lock are enqueue.lua's.
-- KEYS[1] the key's lock (a string: the holder's id; expires after unique_for)
-- KEYS[2] the queue's job key prefix
-- KEYS[3..] enqueue.lua's KEYS[1..], when enqueueing
-- ARGV[1] unique_for in seconds; '' to look only
-- ARGV[2] the unique key (the holder's hash names it in its unique_key field)
-- ARGV[3..] enqueue.lua's ARGV[1..], when enqueueing
-- The key is held while its lock names a job that has that key, and that job
-- waits to run (queued, scheduled, deferred, rate_limited), or runs when its
-- unique_until is 'finish'. Anything else (the job ended, was deleted or
-- expired, or runs with unique_until 'start') frees it: the scripts that move
-- a job need not touch the lock, a job's move is the lock's release, and a
-- crashed worker's job frees it as soon as the recovery ends or requeues it.
-- Returns {'duplicate', holder id, holder's hash as field, value, ...} when the
-- key is held; else {'free'} (looking only) or {'enqueued'}; an error
-- 'DUPLICATE <status>' as enqueue.lua's.
local WAITING = {queued = true, scheduled = true, deferred = true, rate_limited = true}
local holder = redis.call('GET', KEYS[1])
if holder then
  local job = KEYS[2] .. holder
  local state = redis.pcall('HMGET', job, 'status', 'unique_key', 'unique_until')
  if type(state) == 'table' and not state.err and state[2] == ARGV[2]
      and (WAITING[state[1]] or (state[1] == 'started' and state[3] == 'finish')) then
    local out = {'duplicate', holder}
    local fields = redis.call('HGETALL', job)
    for i = 1, #fields do out[i + 2] = fields[i] end
    return out
  end
end
if ARGV[1] == '' then return {'free'} end
-- enqueue.lua's work (its KEYS and ARGV shifted by 2), then the lock.
local failed = place_new_job(KEYS, 3, ARGV, 3)
if failed then return failed end
redis.call('SET', KEYS[1], ARGV[3], 'EX', ARGV[1])
return {'enqueued'}
