-- Delete a job and remove its id from its queue and from every registry.
-- KEYS[1] job hash   KEYS[2] queue list
-- KEYS[3..8] started, finished, failed, deferred, canceled, scheduled registries
-- KEYS[9] priority set
-- ARGV[1] job id
-- Returns {status, dependents JSON}, or nil when there was no such job.
local id = ARGV[1]
local status = redis.call('HGET', KEYS[1], 'status')
if status == 'queued' then redis.call('LREM', KEYS[2], 0, id) end
for i = 3, 9 do redis.call('ZREM', KEYS[i], id) end
if not status then return nil end
local dependents = redis.call('HGET', KEYS[1], 'dependents') or '[]'
redis.call('DEL', KEYS[1])
return {status, dependents}
