-- Take the next job from the first non-empty queue and mark it started (see
-- take_next in _lib.lua).
-- KEYS: four per queue, in priority order: queue list, priority set, started registry,
-- job key prefix.
-- ARGV[1] now   ARGV[2] worker name   ARGV[3] the job's score in its started registry:
-- when it counts as abandoned (now + the worker's ttl), as text
-- Returns nil when every queue is empty and sound, else, as reply() in _lib.lua
-- encodes it: the keys take_next found of the wrong type (space-separated, ''
-- for none); then the job taken, if any (queue position, 1-based; id; hash fields).
local job, broken = take_next(KEYS, 1, ARGV[1], ARGV[2], ARGV[3])
if not job and #broken == 0 then return nil end
return reply({table.concat(broken, ' ')}, job)
