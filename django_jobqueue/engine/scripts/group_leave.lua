-- Take a job out of a group (Group.delete_job); the job itself stays where it is.
-- KEYS[1] the group's set of members on the job's queue   KEYS[2] job hash
-- ARGV[1] job id   ARGV[2] group name
-- Returns 1 when the job was a member, else 0.
if redis.call('HGET', KEYS[2], 'group') == ARGV[2] then redis.call('HDEL', KEYS[2], 'group') end
return redis.call('SREM', KEYS[1], ARGV[1])
