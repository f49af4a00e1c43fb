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
-- ARGV[10] status ('' for any)   ARGV[11] exception substring ('' for any),
--   looked for in the exception's line (exc_line, see _lib.lua): in lower
--   case it matches any case, else only its own
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
-- with a capital letter only itself.
local exc_any_case = exc_part == string.lower(exc_part)

-- The fields read per job: only those the filters and the sort look at. A
-- job whose hash is gone has none of them, so every filter leaves it out.
local fields = {}
local function field(name)
  for i, f in ipairs(fields) do if f == name then return i end end
  table.insert(fields, name)
  return #fields
end
local func_at, status_at, time_at, sort_at, exc_at, dependents_at
if func_part ~= '' or sort == 'func' then func_at = field('func') end
if status ~= '' then status_at = field('status') end
if time_field ~= '' then time_at = field(time_field) end
-- Alone, the exception filter reads the exception's line with the rest; after
-- other filters, only for the jobs that pass them (a call per job).
local exc_alone = exc_part ~= '' and func_part == '' and status == '' and time_field == ''
if exc_alone then exc_at = field('exc_line') end
-- A run's duration is stored when the run ends (finish.lua, fail.lua).
if sort ~= '' and sort ~= 'func' then sort_at = field(sort) end
if mode == 'dependents' then dependents_at = field('dependents') end

-- The slice's fields: row i holds the i-th job's, at rows[(i - 1) * stride + off + k]
-- for field k, and its id at rows[(i - 1) * stride + 1] when off is 1.
-- One SORT with GET reads them all in C: a call from Lua per job costs Redis
-- several times more than the reading itself (docs/dashboard.rst). A page
-- needs the ids of the matches it keeps only, so it reads them afterwards
-- (see id_at) instead of copying every id of the slice. SORT substitutes the
-- first '*' of a pattern, so a prefix with one in it, and a Redis that
-- refuses GET patterns here (a cluster before Redis 8), read job by job.
-- The ids of ranks from .. from + n - 1, in the order read.
local function read_ids(from, n)
  local got
  if source == 'zset' then
    if rev then
      got = redis.call('ZRANGE', KEYS[1], from, from + n - 1, 'REV')
    else
      got = redis.call('ZRANGE', KEYS[1], from, from + n - 1)
    end
  elseif rev then
    got = redis.call('LRANGE', KEYS[1], -(from + n), -(from + 1))
    local m = #got
    for i = 1, math.floor(m / 2) do got[i], got[m + 1 - i] = got[m + 1 - i], got[i] end
  else
    got = redis.call('LRANGE', KEYS[1], from, from + n - 1)
  end
  return got
end

local rows, stride, off, n_rows, ids
if #fields > 0 and not string.find(prefix, '*', 1, true) then
  -- (The exception read after other filters needs the ids of those that pass.)
  local with_ids = mode ~= 'page' or (exc_part ~= '' and not exc_alone)
  local sort_args = {KEYS[1], 'BY', 'nosort', 'LIMIT', first, length}
  if rev then table.insert(sort_args, 'DESC') end
  if with_ids then table.insert(sort_args, 'GET'); table.insert(sort_args, '#') end
  for _, name in ipairs(fields) do
    table.insert(sort_args, 'GET'); table.insert(sort_args, prefix .. '*->' .. name)
  end
  local reply = redis.pcall('SORT', unpack(sort_args))
  if type(reply) == 'table' and not reply.err then
    rows, off = reply, with_ids and 1 or 0
    stride = #fields + off
    n_rows = math.floor(#rows / stride)
  end
end
if not rows then
  ids = read_ids(first, length)
  rows, stride, off, n_rows = {}, #fields, 0, #ids
  if #fields > 0 then
    for i, id in ipairs(ids) do
      local values = redis.call('HMGET', prefix .. id, unpack(fields))
      for j = 1, #fields do rows[(i - 1) * stride + j] = values[j] end
    end
  end
end

local function id_at(i)
  if ids then return ids[i] end
  if off == 1 then return rows[(i - 1) * stride + 1] end
  return read_ids(first + i - 1, 1)[1]
end

-- A time as text that sorts as its number does. The times this package
-- writes (Python's repr of UNIX seconds, from 2001 to 2286) have ten digits
-- before their point, so their texts compare as their numbers, and turning
-- each into a number (strtod) was a quarter of a time sort's cost. Any other
-- text (an integer, a time written by hand) is written in that shape; a
-- missing time is zero. (Two texts of one number, 1773100800 and
-- 1773100800.0, then differ by a trailing zero: their tie may not keep the
-- list's order.)
local function time_text(value)
  if value and string.byte(value, 11) == 46 then return value end
  local n = tonumber(value) or 0
  if n < 0 then n = 0 elseif n >= 1e10 then n = 9999999999.999999 end
  return string.format('%017.6f', n)
end

-- The best `keep` matches so far: their sort values, positions and rows. In
-- the natural order they are the first `keep` read. Sorted, a match goes in
-- only if it beats the worst one kept (a tie with it is worse: it comes
-- later); every `cap` matches taken in, the best `keep` are picked out, so a
-- slice costs a comparison per match, not a sort of every match.
local mv, mp, mid, m = {}, {}, {}, 0
local cap = math.max(2 * keep, 200)
local worst_v  -- the worst value kept once `keep` were picked, else nil

local function before(a_v, a_p, b_v, b_p)
  if a_v == b_v then return a_p < b_p end
  if desc then return a_v > b_v end
  return a_v < b_v
end

local function pick()
  local order = {}
  for i = 1, m do order[i] = i end
  table.sort(order, function(a, b) return before(mv[a], mp[a], mv[b], mp[b]) end)
  local v, p, d = {}, {}, {}
  local n = math.min(keep, m)
  for i = 1, n do
    local j = order[i]
    v[i], p[i], d[i] = mv[j], mp[j], mid[j]
  end
  mv, mp, mid, m = v, p, d, n
  if n == keep and n > 0 then worst_v = mv[n] end
end

-- Whether a function name, or an exception's line, matches: a queue's jobs
-- share a few of each, so each distinct one is looked at once per slice.
local func_seen, exc_seen = {}, {}
local count, found = 0, {}
for i = 1, n_rows do
  local row = (i - 1) * stride + off  -- rows[row + k] is field k
  local ok = true
  if filtered then
    if func_part ~= '' then
      local func = rows[row + func_at]
      if func then
        ok = func_seen[func]
        if ok == nil then
          ok = string.find(string.lower(func), func_part, 1, true) ~= nil
          func_seen[func] = ok
        end
      else
        ok = false
      end
    end
    if ok and status_at then ok = rows[row + status_at] == status end
    if ok and time_at then
      local t = tonumber(rows[row + time_at])
      ok = t ~= nil and (not low or t >= low) and (not high or t <= high)
    end
    if ok and exc_part ~= '' then
      -- The exception's line, not the whole traceback (see exception_line);
      -- a job stored with its traceback in one step has none: it is worked
      -- out here.
      local exc
      if exc_at then
        exc = rows[row + exc_at]
      else
        exc = redis.call('HGET', prefix .. id_at(i), 'exc_line')
      end
      if not exc then
        exc = redis.call('HGET', prefix .. id_at(i), 'exc_info')
        if exc then exc = exception_line(exc) end
      end
      if exc then
        ok = exc_seen[exc]
        if ok == nil then
          ok = string.find(exc_any_case and string.lower(exc) or exc, exc_part, 1, true) ~= nil
          exc_seen[exc] = ok
        end
      else
        ok = false
      end
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
        v = tonumber(rows[row + sort_at]) or -1  -- none: it never ended a run
      else
        v = time_text(rows[row + sort_at])
      end
      if sort == '' then
        if m < keep then
          m = m + 1
          mv[m], mp[m], mid[m] = v, position, i
        end
      elseif keep > 0 and (worst_v == nil or (desc and v > worst_v) or (not desc and v < worst_v)) then
        -- (A tie with the worst kept comes later than it, so it is worse.)
        m = m + 1
        mv[m], mp[m], mid[m] = v, position, i
        if m >= cap then pick() end
      end
    elseif mode == 'store' then
      redis.call('ZADD', KEYS[3], position, id_at(i))
    else
      local dependents = rows[row + dependents_at]
      if dependents and dependents ~= '[]' then
        table.insert(found, id_at(i))
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
if sort ~= '' and m > keep then pick() end

-- The kept matches' ids: one by one for a page's few, else the slice's at once.
if m > 32 and not ids and off == 0 then ids = read_ids(first, length) end
local result = {count}
for i = 1, m do
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
    key = micros(tonumber(v) or 0) .. position
  end
  table.insert(result, key)
  table.insert(result, id_at(mid[i]))
end
return result
