-- Put an ended job (failed, stopped or canceled) back in its queue; a job whose
-- parents are still pending goes back to the deferred registry instead.
-- KEYS[1] job hash   KEYS[2] queue list   KEYS[3] failed registry
-- KEYS[4] canceled registry   KEYS[5] deferred registry   KEYS[6] priority set
-- ARGV[1] job id   ARGV[2] now   ARGV[3] '1' to push at the front   ARGV[4] wake channel
-- Returns the new status; an error 'NO_SUCH_JOB' or 'NOT_REQUEUEABLE <status>'.
local status, why = requeue_job(KEYS[1], ARGV[1], KEYS[2], KEYS[6], KEYS[3], KEYS[4], KEYS[5],
                                ARGV[2], ARGV[3] == '1', ARGV[4])
if not status then return redis.error_reply(why) end
return status
