-- Take the next job from the first non-empty queue and mark it started (see
-- take_next in _lib.lua).
-- KEYS: four per queue, in priority order: queue list, priority set, started registry,
-- job key prefix.
-- ARGV[1] now   ARGV[2] worker name   ARGV[3] seconds until the job counts as abandoned
-- Returns nil when every queue is empty, else the job taken, as reply() in
-- _lib.lua encodes it (queue position, 1-based; id; hash fields).
local job = take_next(KEYS, 1, ARGV[1], ARGV[2], ARGV[3])
if not job then return nil end
return reply({}, job)
