-- Find the jobs of one slice of a queue's list or registry that match a filter
-- (the dashboard's search, see dashboard/pagination.py). Read only, except in
-- the 'store' mode. A caller walks a long list in slices, one call each, so
-- that no call holds Redis up for long; the job hashes it reads are in the
-- queue's slot (keys.py: <tag>:job:<id>), beside the list.
-- KEYS[1] the list or sorted set read   KEYS[2] job key prefix
-- KEYS[3] ('store' mode only) the selection the matches are added to
-- ARGV[1] mode: 'page' | 'store' | 'dependents'
-- ARGV[2] source: 'zset' or 'list'   ARGV[3] ARGV[4] unused
-- ARGV[5] 'rev' to read from the highest score (the tail of a list) down
-- ARGV[6] ARGV[7] the slice: its first rank in that order, and its length
-- ARGV[8] position of the slice's first id in the whole list (the natural order)
-- ARGV[9] function name substring, lower case ('' for any)
-- ARGV[10] status ('' for any)   ARGV[11] exception substring ('' for any): in
--   lower case it matches any case, else only its own
-- ARGV[12] time field ('' for none): enqueued_at | started_at | ended_at
-- ARGV[13] ARGV[14] lowest and highest time, inclusive ('' for open)
-- ARGV[15] sort: '' (the natural order) | enqueued_at | started_at | ended_at |
--   func | duration
-- ARGV[16] 'page' mode: how many matches to return (the first ones in the
--   natural order, else by ARGV[15], lowest first or highest first when
--   ARGV[17] is 'desc');
--   'store' mode: seconds the selection is kept
-- Returns, 'page': {matches, then the returned matches' sort keys and ids,
-- interleaved, in no particular order}; a sort key is the sort value (times in microseconds, 16 digits;
-- a function name, then a NUL) followed by the 12-digit position (counted
-- down from 10^12 - 1 when descending), so keys are unique and compare as bytes
-- in the order the caller sorts them (reversed when descending); ties keep
-- the natural order.
-- 'store': {matches}. 'dependents': {matches, then for each matching job that
-- has dependents: its id and its dependents JSON}.
local mode, source, rev = ARGV[1], ARGV[2], ARGV[5] == 'rev'
local first, length = tonumber(ARGV[6]), tonumber(ARGV[7])
local base = tonumber(ARGV[8])
local func_part, status, exc_part = ARGV[9], ARGV[10], ARGV[11]
local time_field, low, high = ARGV[12], tonumber(ARGV[13]), tonumber(ARGV[14])
local sort, keep = ARGV[15], tonumber(ARGV[16])
local desc = sort ~= '' and ARGV[17] == 'desc'  -- the natural order is read as it is
local filtered = func_part ~= '' or status ~= '' or exc_part ~= '' or time_field ~= ''
local prefix = KEYS[2]
-- Smart case, as in grep tools: a pattern in lower case matches any case, one
-- with a capital letter only itself (no lower-casing of long tracebacks then).
local exc_any_case = exc_part == string.lower(exc_part)

-- The fields read per job: only those the filters and the sort look at. A
-- job whose hash is gone has none of them, so every filter leaves it out.
local fields = {}
local function field(name)
  for i, f in ipairs(fields) do if f == name then return i end end
  table.insert(fields, name)
  return #fields
end
local func_at, status_at, time_at, sort_at, sort_end, exc_at, dependents_at
if func_part ~= '' or sort == 'func' then func_at = field('func') end
if status ~= '' then status_at = field('status') end
if time_field ~= '' then time_at = field(time_field) end
-- Alone, the traceback filter reads the traceback with the rest; after other
-- filters, only for the jobs that pass them (a call per job, but most
-- tracebacks are never copied).
local exc_alone = exc_part ~= '' and func_part == '' and status == '' and time_field == ''
if exc_alone then exc_at = field('exc_info') end
if sort == 'duration' then
  sort_at, sort_end = field('started_at'), field('ended_at')
elseif sort ~= '' and sort ~= 'func' then
  sort_at = field(sort)
end
if mode == 'dependents' then dependents_at = field('dependents') end

-- The slice's ids and their fields, one row of 1 + #fields values per job.
-- One SORT with GET reads them all in C: a call from Lua per job costs Redis
-- several times more than the reading itself (docs/dashboard.rst). SORT
-- substitutes the first '*' of a pattern, so a prefix with one in it, and a
-- Redis that refuses GET patterns here (6.2 in a cluster), read job by job.
local width = #fields + 1
local rows
if not string.find(prefix, '*', 1, true) then
  local sort_args = {KEYS[1], 'BY', 'nosort', 'LIMIT', first, length}
  if rev then table.insert(sort_args, 'DESC') end
  table.insert(sort_args, 'GET'); table.insert(sort_args, '#')
  for _, field in ipairs(fields) do
    table.insert(sort_args, 'GET'); table.insert(sort_args, prefix .. '*->' .. field)
  end
  local reply = redis.pcall('SORT', unpack(sort_args))
  if type(reply) == 'table' and not reply.err then rows = reply end
end
if not rows then
  local ids
  if source == 'zset' then
    if rev then
      ids = redis.call('ZRANGE', KEYS[1], first, first + length - 1, 'REV')
    else
      ids = redis.call('ZRANGE', KEYS[1], first, first + length - 1)
    end
  elseif rev then
    ids = redis.call('LRANGE', KEYS[1], -(first + length), -(first + 1))
    local n = #ids
    for i = 1, math.floor(n / 2) do ids[i], ids[n + 1 - i] = ids[n + 1 - i], ids[i] end
  else
    ids = redis.call('LRANGE', KEYS[1], first, first + length - 1)
  end
  rows = {}
  for i, id in ipairs(ids) do
    local row = (i - 1) * width
    rows[row + 1] = id
    if #fields > 0 then
      local values = redis.call('HMGET', prefix .. id, unpack(fields))
      for j = 1, #fields do rows[row + 1 + j] = values[j] end
    end
  end
end

-- The matches' sort values, positions and ids, in the natural order; the
-- best `keep` of them are picked once the slice is read (see below).
local mv, mp, mid, m = {}, {}, {}, 0

local count, found = 0, {}
for i = 1, math.floor(#rows / width) do
  local row = (i - 1) * width + 1  -- rows[row] is the id, rows[row + k] field k
  local id = rows[row]
  local ok = true
  if filtered then
    if func_part ~= '' then
      local func = rows[row + func_at]
      ok = func ~= false and string.find(string.lower(func), func_part, 1, true) ~= nil
    end
    if ok and status_at then ok = rows[row + status_at] == status end
    if ok and time_at then
      local t = tonumber(rows[row + time_at])
      ok = t ~= nil and (not low or t >= low) and (not high or t <= high)
    end
    if ok and exc_part ~= '' then
      -- Last: lower-casing a long traceback is the costliest test.
      local exc
      if exc_at then
        exc = rows[row + exc_at]
      else
        exc = redis.call('HGET', prefix .. id, 'exc_info')
      end
      if exc and exc_any_case then exc = string.lower(exc) end
      ok = exc ~= false and string.find(exc, exc_part, 1, true) ~= nil
    end
  end
  if ok then
    count = count + 1
    local position = base + i - 1
    if mode == 'page' then
      local v
      if sort == '' then
        v = position
      elseif sort == 'func' then
        v = rows[row + func_at] or ''
      elseif sort == 'duration' then
        local s, e = tonumber(rows[row + sort_at]), tonumber(rows[row + sort_end])
        v = s and e and math.max(e - s, 0) or -1
      else
        v = tonumber(rows[row + sort_at]) or 0
      end
      if sort ~= '' or m < keep then
        m = m + 1
        mv[m], mp[m], mid[m] = v, position, id
      end
    elseif mode == 'store' then
      redis.call('ZADD', KEYS[3], position, id)
    else
      local dependents = rows[row + dependents_at]
      if dependents and dependents ~= '[]' then
        table.insert(found, id)
        table.insert(found, dependents)
      end
    end
  end
end

if mode == 'store' then
  if count > 0 then redis.call('EXPIRE', KEYS[3], keep) end
  return {count}
end
if mode == 'dependents' then
  table.insert(found, 1, count)
  return found
end
local function micros(value)
  return string.format('%016.0f', math.max(value * 1e6, 0))
end
-- The best `keep`: those better than the keep-th best value, then as many
-- of the matches equal to it as are left, in the natural order (the order
-- they were read in). Sorting the plain values runs in C.
local take = {}
if m <= keep then
  for i = 1, m do take[i] = true end
elseif keep > 0 then
  local sorted = {}
  for i = 1, m do sorted[i] = mv[i] end
  table.sort(sorted)
  local limit = desc and sorted[m - keep + 1] or sorted[keep]
  local better = 0
  for i = 1, m do
    local v = mv[i]
    if (desc and v > limit) or (not desc and v < limit) then
      take[i] = true
      better = better + 1
    end
  end
  local ties = keep - better
  for i = 1, m do
    if ties <= 0 then break end
    if mv[i] == limit then
      take[i] = true
      ties = ties - 1
    end
  end
end

local result = {count}
for i = 1, m do
  if take[i] then
    -- Descending, the caller reverses the keys: ties must still come in the
    -- natural order, so their position counts down.
    local v = mv[i]
    local position = string.format('%012d', desc and 999999999999 - mp[i] or mp[i])
    local key
    if sort == '' then
      key = position
    elseif sort == 'func' then
      key = v .. '\0' .. position
    elseif sort == 'duration' then
      key = micros(v + 1e-6) .. position  -- no duration (-1) below a zero one
    else
      key = micros(v) .. position
    end
    table.insert(result, key)
    table.insert(result, mid[i])
  end
end
return result
