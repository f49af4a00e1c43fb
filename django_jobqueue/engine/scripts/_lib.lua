-- Shared by every script (the loader prepends this file).

-- A job with priority 0 goes to the queue list (FIFO, or the front with at_front);
-- any other priority goes to the queue's priority set, scored so that a higher
-- priority comes first and, within one priority, the earlier push (a counter
-- kept beside the set, <priority set>:seq, numbers the pushes): take_next serves
-- positive priorities before the list and negative ones after it.
local PRIORITY_BAND = 1e13  -- above any push number

-- Rate limits (engine/rate_limit.py). A job enqueued with rate_limit= has
-- rl_key and rl_concurrency in its hash. Its limit's keys lie beside its queue,
-- in the queue's slot, named from the queue list's key (<tag>:queue) as
-- KeySpace.rate_limit and rate_limit_keys name them: <tag>:rl:<key> (a hash:
-- concurrency, seq), its :allowed set (the jobs holding a slot) and :waiting
-- set (oldest first), <tag>:rl-keys (the keys in use) and the rate_limited
-- registry <tag>:rate_limited.
local function rate_limit_keys(list_key, rl_key)
  local tag = string.sub(list_key, 1, -7)
  local config = tag .. ':rl:' .. rl_key
  return config, config .. ':allowed', config .. ':waiting', tag .. ':rate_limited',
         tag .. ':rl-keys'
end

-- Whether a job about to enter its queue must wait for a slot of its rate
-- limit instead; then it is made to wait (status rate_limited, in the
-- registry and the limit's waiting set; rl_front records whether it was to go
-- to the front, for when it is let in), else it takes a free slot. A job
-- that holds its slot already (an immediate retry, a job given back) keeps it.
local function rate_gate(list_key, job_key, id, now, at_front)
  local rl = redis.call('HMGET', job_key, 'rl_key', 'rl_concurrency')
  if not rl[1] then return false end
  local config, allowed, waiting, registry, names = rate_limit_keys(list_key, rl[1])
  redis.call('SADD', names, rl[1])
  redis.call('HSET', config, 'concurrency', rl[2])
  if redis.call('ZSCORE', allowed, id) then return false end
  if redis.call('ZCARD', allowed) < (tonumber(rl[2]) or 1) then
    redis.call('ZADD', allowed, now, id)
    return false
  end
  redis.call('ZADD', waiting, redis.call('HINCRBY', config, 'seq', 1), id)
  redis.call('ZADD', registry, now, id)
  redis.call('HSET', job_key, 'status', 'rate_limited', 'rl_front', at_front and '1' or '0')
  return true
end

-- Put a job in its queue. Idle workers are woken only when the queue goes from
-- empty to not empty: a worker sleeps only after seeing every queue empty, so
-- that push is the one it needs to hear about (see Worker.wait_for_work).
-- priority may be passed when known, saving a read of the job hash. A job of
-- a rate limit without a free slot waits instead (rate_gate), unless the
-- caller knows it has none (unlimited: enqueue.lua, whose jobs with a rate
-- limit go through rate_limit_enqueue.lua), which saves another read.
-- Returns the job's status: 'queued' or 'rate_limited'.
local function push(list_key, prio_key, job_key, id, at_front, now, channel, priority, unlimited)
  if not unlimited and rate_gate(list_key, job_key, id, now, at_front) then
    return 'rate_limited'
  end
  priority = priority or tonumber(redis.call('HGET', job_key, 'priority') or '0') or 0
  local length
  if priority ~= 0 then
    local seq = redis.call('INCR', prio_key .. ':seq') % PRIORITY_BAND
    redis.call('ZADD', prio_key, (100 - priority) * PRIORITY_BAND + seq, id)
    length = 1
  elseif at_front then
    length = redis.call('LPUSH', list_key, id)
  else
    length = redis.call('RPUSH', list_key, id)
  end
  if length == 1 then redis.call('PUBLISH', channel, id) end
  return 'queued'
end

-- Put an ended job (failed, stopped or canceled) back in its queue; a job whose
-- parents are still pending goes back to the deferred registry instead.
-- Returns the new status, or nil and why not ('NO_SUCH_JOB' or
-- 'NOT_REQUEUEABLE <status>'). requeue.lua and bulk.lua both requeue through it.
local function requeue_job(job, id, list, prio, failed, canceled, deferred, now, at_front, channel)
  local status = redis.call('HGET', job, 'status')
  if not status then return nil, 'NO_SUCH_JOB' end
  if status ~= 'failed' and status ~= 'stopped' and status ~= 'canceled' then
    return nil, 'NOT_REQUEUEABLE ' .. status
  end
  redis.call('ZREM', failed, id)
  redis.call('ZREM', canceled, id)
  redis.call('HDEL', job, 'exc_info', 'exc_line', 'returned_retry', 'started_at', 'ended_at',
             'duration', 'result', 'worker', 'stop_requested')
  redis.call('PERSIST', job)
  if redis.call('HEXISTS', job, 'pending') == 1 then
    redis.call('HSET', job, 'status', 'deferred')
    redis.call('ZADD', deferred, now, id)
    return 'deferred'
  end
  redis.call('HSET', job, 'status', 'queued', 'enqueued_at', now)
  return push(list, prio, job, id, at_front, now, channel)
end

-- Delete a job, and its id from its queue list and from each sorted set in zsets
-- (registries, priority set), even when the job itself had vanished, and from
-- its group's members, if it has a group (see group.py). Returns its
-- status (nil: there was no job) and its dependents JSON. For delete.lua and bulk.lua.
local function delete_job(job, id, list, zsets)
  local status = redis.call('HGET', job, 'status')
  if status == 'queued' then redis.call('LREM', list, 0, id) end
  for _, key in ipairs(zsets) do redis.call('ZREM', key, id) end
  if not status then return nil end
  local tag = string.sub(job, 1, #job - #id - 5)
  local group = redis.call('HGET', job, 'group')
  if group then
    -- The job leaves its group too. The group's set sits beside the job in the
    -- queue's slot: keys.py names them <tag>:job:<id> and <tag>:group:<name>.
    redis.call('SREM', tag .. ':group:' .. group, id)
  end
  -- The results recorded through Result.create (keys.py: <tag>:results:<id>).
  redis.call('DEL', tag .. ':results:' .. id)
  local dependents = redis.call('HGET', job, 'dependents') or '[]'
  redis.call('DEL', job)
  return status, dependents
end

-- Write a new job hash: its status and times, the ttl it may wait (the field
-- tells take_next to lift the expiry once the job starts), then the caller's
-- field/value pairs argv[first..last] (last: the end of argv when nil).
local function write_job(job_key, status, now, ttl, argv, first, last)
  local fields = {'status', status, 'created_at', now}
  if status == 'queued' or status == 'started' then
    table.insert(fields, 'enqueued_at'); table.insert(fields, now)
  end
  if ttl ~= '' then
    table.insert(fields, 'ttl'); table.insert(fields, ttl)
  end
  for i = first, last or #argv do table.insert(fields, argv[i]) end
  redis.call('HSET', job_key, unpack(fields))
  if ttl ~= '' then redis.call('EXPIRE', job_key, ttl) end
end

-- A traceback's last line that is not blank (normally the exception's type
-- and message), at most 1,000 bytes. The job hash keeps it as exc_line beside
-- exc_info, so that the dashboard's exception filter reads it (search.lua)
-- instead of every whole traceback: every script that writes exc_info writes
-- it too (with the two helpers below), and every one that deletes exc_info
-- deletes it. A hash created with an exc_info has none (it is new, so none
-- can be stale): the filter then works it out from exc_info.
local function exception_line(text)
  local stop = #text
  while stop > 0 do
    local b = string.byte(text, stop)
    if b ~= 10 and b ~= 13 and b ~= 32 and b ~= 9 then break end
    stop = stop - 1
  end
  local start, floor = stop, math.max(stop - 65536, 1)
  while start > floor and string.byte(text, start - 1) ~= 10 do start = start - 1 end
  return string.sub(text, start, math.min(stop, start + 999))
end

local function set_exc_info(job_key, text)
  redis.call('HSET', job_key, 'exc_info', text, 'exc_line', exception_line(text))
end

-- A run's length in seconds, as text, from the job's started_at to now: the
-- scripts that end a run store it as 'duration' beside ended_at, so that the
-- dashboard's sort by duration reads one field per job, not two times
-- (search.lua). '' when the job has no start time (it never ran).
local function run_seconds(started, now)
  local s = tonumber(started or '')
  if not s then return '' end
  return string.format('%.6f', math.max(tonumber(now) - s, 0))
end

-- After a script wrote fields its caller named (move.lua; names at argv[first],
-- argv[first + step], ...): exc_line follows exc_info.
local function sync_exc_line(job_key, argv, first, step)
  for i = first, #argv, step do
    if argv[i] == 'exc_info' then
      local text = redis.call('HGET', job_key, 'exc_info')
      if text then
        redis.call('HSET', job_key, 'exc_line', exception_line(text))
      else
        redis.call('HDEL', job_key, 'exc_line')
      end
      return
    end
  end
end

-- A script's reply as one flat list: head holds the script's own values (false
-- goes as '', which no value of theirs can be); a job taken by take_next
-- follows as its position, id and hash fields. Flat, since a nested reply
-- costs the client a list per level; and not joined into one string, which
-- cost the server more than all the commands the script ran.
local function reply(head, job)
  local out = {}
  local n = #head
  for i = 1, n do out[i] = head[i] or '' end
  if job then
    out[n + 1] = job[1]
    out[n + 2] = job[2]
    local fields = job[3]
    for f = 1, #fields do out[n + 2 + f] = fields[f] end
  end
  return out
end

-- Make room for a job whose id the caller chose. mode 'unique' refuses any job
-- that has the id, ended or not, until it is deleted (or expires). mode
-- 'replace' (RQ's default for a reused id) replaces an ended job, and one still
-- waiting in its queue or scheduled registry when waiting lists those three keys
-- (queue list, priority set, scheduled registry); it refuses a running job and
-- one waiting on its parents, whose bookkeeping lives in other hashes. A
-- replaced job leaves no trace (its id is taken out of every place listed, so
-- a job is never in two places) except its dependents, which wait on the id
-- and are kept for the new job to release. Returns 'DUPLICATE <status>' when
-- the job is left alone, else nil.
local function claim_id(job_key, id, ended_registries, mode, waiting)
  local old = redis.call('HGET', job_key, 'status')
  if not old then return nil end
  local waits = old == 'queued' or old == 'scheduled'
  if mode == 'unique' or old == 'started' or old == 'deferred' or (waits and not waiting) then
    return 'DUPLICATE ' .. old
  end
  local dependents = redis.call('HGET', job_key, 'dependents')
  if waits then
    -- The list first: a key of the wrong type fails here, before anything changed.
    redis.call('LREM', waiting[1], 0, id)
    redis.call('ZREM', waiting[2], id)
    redis.call('ZREM', waiting[3], id)
  end
  redis.call('DEL', job_key)
  for _, registry in ipairs(ended_registries) do redis.call('ZREM', registry, id) end
  if dependents then redis.call('HSET', job_key, 'dependents', dependents) end
  return nil
end

-- Create a job and put it where it belongs: enqueue.lua's work, which
-- enqueue_unique.lua does too after its lock. keys[k..] and argv[a..] are
-- enqueue.lua's KEYS[1..] and ARGV[1..] (see its header). Returns nil, or the
-- error reply to return ('DUPLICATE <status>', 'BAD_TARGET <target>').
local function place_new_job(keys, k, argv, a)
  local id, target, now = argv[a], argv[a + 1], argv[a + 2]
  if #keys > k + 4 then
    local duplicate = claim_id(keys[k], id, {keys[k + 5], keys[k + 6], keys[k + 7]},
                               argv[a + 9], {keys[k + 1], keys[k + 2], keys[k + 8]})
    if duplicate then return redis.error_reply(duplicate) end
  end
  -- The id first, the hash after: a queue or registry key of the wrong type
  -- fails the script before anything is written (no stray hash). A job with
  -- a rate limit comes through rate_limit_enqueue.lua, so push need not look.
  if target == 'queued' then
    push(keys[k + 1], keys[k + 2], keys[k], id, argv[a + 4] == '1', now, argv[a + 6],
         tonumber(argv[a + 7]), true)
  elseif target == 'deferred' or target == 'scheduled' or target == 'started' then
    redis.call('ZADD', keys[k + 3], argv[a + 3], id)
  else
    return redis.error_reply('BAD_TARGET ' .. target)
  end
  write_job(keys[k], target, now, argv[a + 5], argv, a + 10)
  if argv[a + 8] ~= '' then redis.call('SADD', keys[k + 4], argv[a + 8]) end
  return nil
end

local KNOWN_STATUS = {queued = true, started = true, finished = true, failed = true,
                      deferred = true, scheduled = true, canceled = true, stopped = true,
                      rate_limited = true}

-- Whether a redis.pcall result says its key holds another type of data
-- (WRONGTYPE). Any other error (READONLY from a master that a failover just
-- demoted, OOM, ...) is about the server, not the key: it is raised again, as
-- redis.call would, so that the caller retries instead of passing the key over.
local function wrong_type(result)
  if type(result) ~= 'table' or not result.err then return false end
  if string.sub(result.err, 1, 9) == 'WRONGTYPE' then return true end
  error(result)
end

-- redis.call, except that a key holding another type of data than the command
-- wants is appended to the list bad (and nil returned) instead of aborting
-- the script half-way. The key is the command's first argument.
local function try_call(bad, command, key, ...)
  local result = redis.pcall(command, key, ...)
  if wrong_type(result) then
    table.insert(bad, key)
    return nil
  end
  return result
end

-- Whether key holds data of the given kind (or nothing); else it is appended
-- to the list bad. Scripts check a key this way before a change that an
-- error on that key would leave half done.
local function sound(bad, key, kind)
  local found = redis.call('TYPE', key)['ok']
  if found == kind or found == 'none' then return true end
  table.insert(bad, key)
  return false
end

-- Take the id to run next off a queue. Returns the id (nil when the queue is
-- empty) and, for an id taken from the priority set, its score; or nil and
-- the key that holds another type of data than a queue's (see take_next).
local function pop_id(list, prio)
  local head = redis.pcall('ZRANGE', prio, 0, 0, 'WITHSCORES')
  if wrong_type(head) then return nil, nil, prio end
  if head[1] and tonumber(head[2]) < 100 * PRIORITY_BAND then
    redis.call('ZREM', prio, head[1])
    return head[1], head[2]
  end
  local id = redis.pcall('LPOP', list)
  if wrong_type(id) then return nil, nil, list end
  if id then return id end
  if head[1] then
    redis.call('ZREM', prio, head[1])
    return head[1], head[2]
  end
  return nil
end

-- Take the next job from the first non-empty queue and mark it started, so that a
-- job is always either in its queue or in the started registry. keys holds four
-- keys per queue from position first on: queue list, priority set, started
-- registry, job key prefix; deadline is the score the job gets there (when it
-- counts as abandoned), as text: the caller adds it up, since turning a Lua
-- number into a command's argument costs more than the command. Ids whose job
-- expired, was deleted or is no longer queued are dropped on the way. Returns
-- nil, or {queue position, id, job hash as a flat list} (scripts send it on
-- through reply()); then the keys found holding another type of data than
-- they should (a queue list that is a string, say), as a list. Such a queue
-- is passed over, untouched, so the others are still served; an id whose job
-- key is not a hash is dropped (no outcome can be recorded there). The worker
-- logs them (see Worker.dequeue).
local function take_next(keys, first, now, worker, deadline)
  local broken = {}
  for i = first, #keys, 4 do
    local list, prio, started = keys[i], keys[i + 1], keys[i + 2]
    while true do
      local id, score, bad = pop_id(list, prio)
      if bad then broken[#broken + 1] = bad; break end
      if not id then break end
      local job = keys[i + 3] .. id
      local fields = redis.pcall('HGETALL', job)
      if wrong_type(fields) then
        broken[#broken + 1] = job
        fields = {}
      end
      local status, ttl, at, ran
      for f = 1, #fields, 2 do
        local name = fields[f]
        if name == 'status' then status = fields[f + 1]; at = f + 1
        elseif name == 'ttl' then ttl = fields[f + 1]
        elseif name == 'duration' then ran = f end
      end
      if #fields > 0 and not KNOWN_STATUS[status or ''] then
        -- A hash this code never wrote: fail it where people will look,
        -- instead of dropping it or running it. The failed registry's name is
        -- the started one's with its last word changed (same queue, same slot).
        local failed = string.sub(started, 1, -8) .. 'failed'
        local why = status and ('an unknown status ' .. status) or 'no status'
        -- One line: it is its own exc_line (no helper: a helper's definition
        -- would cost every take).
        local text = 'InvalidJobOperation: the job had ' .. why
        redis.call('HSET', job, 'status', 'failed', 'ended_at', now, 'duration', '',
                   'exc_info', text, 'exc_line', text)
        try_call(broken, 'ZADD', failed, '+inf', id)
      elseif status == 'queued' then
        if wrong_type(redis.pcall('ZADD', started, deadline, id)) then
          -- No started registry to put it in: back where it was.
          if score then redis.call('ZADD', prio, score, id)
          else redis.call('LPUSH', list, id) end
          broken[#broken + 1] = started
          break
        end
        redis.call('HSET', job, 'status', 'started', 'started_at', now, 'worker', worker)
        if ttl then redis.call('PERSIST', job) end
        if ran then
          -- It ran before: that run's duration goes, as its times no longer
          -- give it (the dashboard shows none until this run ends).
          redis.call('HDEL', job, 'duration')
          fields[ran + 1] = ''
        end
        fields[at] = 'started'
        local n = #fields
        fields[n + 1] = 'started_at'; fields[n + 2] = now
        fields[n + 3] = 'worker'; fields[n + 4] = worker
        return {(i - first) / 4 + 1, id, fields}, broken
      end
    end
  end
  return nil, broken
end

-- Place a repeating job's next run (see repeat.py): one repeat fewer left, the
-- first interval used up (the last one stays, for the runs after it), then into
-- the queue when that interval is 0, else into the scheduled registry until it
-- has passed. The caller has taken the job out of wherever it was. Returns the
-- new status and the interval in seconds, or nil when no repeat is left.
local function place_repeat(job, id, list, prio, scheduled, now, channel)
  local state = redis.call('HMGET', job, 'repeats_left', 'repeat_intervals')
  local left = tonumber(state[1] or '')
  -- Past Repeat's bound (only another program writes such a count), a Lua
  -- number no longer counts down: no repeat rather than repeats for ever.
  if not left or left <= 0 or left > 2147483647 then return nil end
  local ok, intervals = pcall(cjson.decode, state[2] or '[0]')
  if not ok or type(intervals) ~= 'table' or #intervals == 0 then intervals = {0} end
  local interval = tonumber(intervals[1]) or 0
  if #intervals > 1 then
    table.remove(intervals, 1)
    redis.call('HSET', job, 'repeat_intervals', cjson.encode(intervals))
  end
  redis.call('HSET', job, 'repeats_left', left - 1)
  if interval > 0 then
    redis.call('HSET', job, 'status', 'scheduled')
    redis.call('ZADD', scheduled, tonumber(now) + interval, id)
    return 'scheduled', interval
  end
  redis.call('HSET', job, 'status', 'queued', 'enqueued_at', now)
  push(list, prio, job, id, false, now, channel)
  return 'queued', 0
end

-- Let the oldest jobs waiting for a rate limit's slot into their queue while it
-- has fewer than concurrency jobs holding one (see rate_limit_release.lua);
-- the ids let in are appended to the list admitted. prefix is the queue's job
-- key prefix. Ids whose job no longer waits (deleted, canceled, expired) are
-- passed over.
local function rate_admit(list, prio, prefix, allowed, waiting, registry, concurrency, now,
                          channel, admitted)
  while redis.call('ZCARD', allowed) < concurrency do
    local head = redis.call('ZPOPMIN', waiting)
    if #head == 0 then break end
    local id = head[1]
    local job = prefix .. id
    local status = redis.pcall('HGET', job, 'status')
    if status == 'rate_limited' and redis.call('ZREM', registry, id) == 1 then
      redis.call('ZADD', allowed, now, id)
      redis.call('HSET', job, 'status', 'queued', 'enqueued_at', now)
      -- To the front if the step that made it wait put it there (a requeue or a
      -- retry decides anew); ids made to wait by hand go by the job's at_front.
      local front = redis.call('HMGET', job, 'rl_front', 'at_front')
      push(list, prio, job, id, (front[1] or front[2]) == '1', now, channel)
      table.insert(admitted, id)
    elseif status ~= 'rate_limited' then
      redis.call('ZREM', registry, id)  -- no longer waits: not a rate_limited job either
    end
  end
end

-- Free the slot a job of rate limit rl_key held, as its outcome is recorded
-- (fail.lua: a failure, a stop, or a retry that waits), and let the next
-- waiting job in; a limit left with no job is forgotten. Nothing happens when
-- the job held no slot. The queue's keys must be sound (see sound).
local function rate_free(list, prio, job_key, id, rl_key, now, channel)
  local config, allowed, waiting, registry, names = rate_limit_keys(list, rl_key)
  if redis.call('ZREM', allowed, id) == 0 then return end
  local concurrency = tonumber(redis.call('HGET', config, 'concurrency')) or 0
  rate_admit(list, prio, string.sub(job_key, 1, #job_key - #id), allowed, waiting, registry,
             concurrency, now, channel, {})
  if redis.call('ZCARD', allowed) == 0 and redis.call('ZCARD', waiting) == 0 then
    redis.call('SREM', names, rl_key)
    redis.call('DEL', config)
  end
end
