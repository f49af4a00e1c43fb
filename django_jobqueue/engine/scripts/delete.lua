-- Delete a job and remove its id from its queue and from every registry.
-- KEYS[1] job hash   KEYS[2] queue list
-- KEYS[3..9] started, finished, failed, deferred, canceled, scheduled, rate_limited
-- registries   KEYS[10] priority set
-- ARGV[1] job id
-- Returns {status, dependents JSON}, or nil when there was no such job.
local status, dependents = delete_job(KEYS[1], ARGV[1], KEYS[2], {unpack(KEYS, 3, 10)})
if not status then return nil end
return {status, dependents}
