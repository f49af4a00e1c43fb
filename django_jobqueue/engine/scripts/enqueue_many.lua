-- Create many queued jobs of one queue in one step (Queue.enqueue_many).
-- enqueue.lua does the same for one job; sent once per job, its arguments (the
-- script's sha, four keys, eight options) cost the client more to pack than
-- the job itself. Here the queue's keys come once, and jobs without an option
-- that needs a push of their own go into the list with a single RPUSH.
-- KEYS[1] queue list   KEYS[2] priority set
-- KEYS[3] the set of queue names (on Redis Cluster: any key of this queue's)
-- KEYS[4..7] finished, failed, canceled and scheduled registries (for chosen ids)
-- KEYS[8..] one job hash per job, in order
-- ARGV[1] now   ARGV[2] wake channel
-- ARGV[3] the queue's name, added to KEYS[3] (see enqueue.lua); '' when the
--         caller adds it itself
-- ARGV[4..] per job: id, for a chosen id 'replace' or 'unique' (see claim_id in
--           _lib.lua) else '', '1' to push at the front,
--           ttl ('' for none), priority, number of field/value items, the items
-- Returns one reply per job: 1, or 'DUPLICATE <status>' when the job that has
-- that chosen id is kept (it is left alone; the others are enqueued).
local now, channel = ARGV[1], ARGV[2]
-- A queue key of the wrong type fails the batch before any job is written.
local bad = {}
if not (sound(bad, KEYS[1], 'list') and sound(bad, KEYS[2], 'zset')) then
  return redis.error_reply('WRONGTYPE ' .. bad[1] .. ' is not a queue: nothing was enqueued')
end
local ended, waiting = {KEYS[4], KEYS[5], KEYS[6]}, {KEYS[1], KEYS[2], KEYS[7]}
local replies, tail = {}, {}
local at = 4
for j = 8, #KEYS do
  local key = KEYS[j]
  local id, chosen, at_front, ttl = ARGV[at], ARGV[at + 1], ARGV[at + 2], ARGV[at + 3]
  local priority, count = tonumber(ARGV[at + 4]), tonumber(ARGV[at + 5])
  local first, last = at + 6, at + 5 + count
  at = last + 1
  local duplicate = chosen ~= '' and claim_id(key, id, ended, chosen, waiting)
  if duplicate then
    table.insert(replies, duplicate)
  else
    write_job(key, 'queued', now, ttl, ARGV, first, last)
    if priority ~= 0 or at_front == '1' then
      push(KEYS[1], KEYS[2], key, id, at_front == '1', now, channel, priority)
    else
      table.insert(tail, id)
    end
    table.insert(replies, 1)
  end
end
-- RPUSH takes a bounded number of arguments per call in Lua (unpack's limit).
for i = 1, #tail, 1000 do
  local length = redis.call('RPUSH', KEYS[1], unpack(tail, i, math.min(i + 999, #tail)))
  if i == 1 and length == math.min(1000, #tail) then redis.call('PUBLISH', channel, tail[1]) end
end
if ARGV[3] ~= '' then redis.call('SADD', KEYS[3], ARGV[3]) end
return replies
