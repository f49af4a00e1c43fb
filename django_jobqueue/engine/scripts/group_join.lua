-- Make jobs members of a group on one queue: each id whose job hash names the
-- group. Sent in the same MULTI as the jobs' enqueue scripts (Group.enqueue_many),
-- so a job stored there is a member from the start, and one the enqueue refused
-- (a chosen id already in use) is not made one.
-- KEYS[1] the group's set of members on this queue   KEYS[2] the queue's job key prefix
-- ARGV[1] group name   ARGV[2..] job ids
-- Returns how many ids were added.
local added = 0
for i = 2, #ARGV do
  if redis.call('HGET', KEYS[2] .. ARGV[i], 'group') == ARGV[1] then
    added = added + redis.call('SADD', KEYS[1], ARGV[i])
  end
end
return added
