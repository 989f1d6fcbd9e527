package redis

import goredis "github.com/redis/go-redis/v9"

// Every change of the store is one Lua script: Redis runs a script
// atomically, so the revision counter, the row, its metadata, the lease
// index and the change log move together. go-redis runs them with EVALSHA
// and falls back to EVAL after a NOSCRIPT (a restarted server).
//
// Scripts take every name from ARGV, not KEYS: they derive row keys from
// the metadata they read, which Redis allows on a standalone server only
// (the reason the driver refuses Redis Cluster; see doc.go).
//
// Conventions: ARGV[1] is the key prefix; numbers travel as decimal
// strings (Lua numbers are doubles: string.format('%d') keeps integers
// exact up to 2^53, and avoids "1e+14"); a lease id is kept as its decimal
// string, "0" for none. A script answers a table whose first element is a
// status: "ok", "notfound", "exists", "conflict", "lease", "future",
// "compacted". Checks come before writes, and XADD (the one write that can
// fail, on an id below the stream's last) comes first among the writes,
// since Redis does not roll back the writes of a failed script.
const prelude = `
local P = ARGV[1]
local K_REV = P .. 'rev'
local K_FLOOR = P .. 'floor'
local K_LOG = P .. 'log'
local K_TABLES = P .. 'tables'
local K_LEASES = P .. 'leases'
local K_LEASE_TTL = P .. 'lease:ttl'
local K_LEASE_ID = P .. 'lease:id'

local function fmt(n) return string.format('%d', n) end

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function meta_key(tbl) return P .. 't:' .. tbl end
local function lease_rows(id) return P .. 'lease:' .. id .. ':rows' end

-- Dragonflow's row key: {table.topic}key, topic '' for none. A topic with
-- '}' would make two rows share a key, so it is stored as topicless.
local function row_key(tbl, topic, key)
  if string.find(topic, '}', 1, true) then topic = '' end
  return '{' .. tbl .. '.' .. topic .. '}' .. key
end

-- Row metadata: "<create>:<mod>:<lease>:<topic>".
local function parse(m)
  local c, mr, l, tp = string.match(m, '^(%d+):(%d+):(%d+):(.*)$')
  return tonumber(c), tonumber(mr), l, tp
end
local function enc(c, mr, l, tp) return fmt(c) .. ':' .. fmt(mr) .. ':' .. l .. ':' .. tp end

-- The store revision is the counter + 1: a fresh store is at revision 1 and
-- its first write gets 2, as etcd.
local function cur_rev()
  local v = redis.call('GET', K_REV)
  if v then return tonumber(v) + 1 end
  return 1
end
local function next_rev() return redis.call('INCR', K_REV) + 1 end

-- One change log entry; its stream id is <revision>-<n>, n counting the
-- rows one revision changes (a lease's expiry deletes several).
local function append(rev, n, typ, tbl, key, value, create, lease)
  redis.call('XADD', K_LOG, fmt(rev) .. '-' .. fmt(n),
    't', typ, 'tb', tbl, 'k', key, 'v', value, 'c', fmt(create), 'l', lease)
end

-- Cap the log at about limit entries; the floor (first revision whose
-- history is complete) follows what trimming removed.
local function trim(limit)
  if limit <= 0 then return end
  if redis.call('XTRIM', K_LOG, 'MAXLEN', '~', limit) == 0 then return end
  local first = redis.call('XRANGE', K_LOG, '-', '+', 'COUNT', 1)
  if #first == 0 then return end
  local r, s = string.match(first[1][1], '^(%d+)-(%d+)$')
  r = tonumber(r)
  if tonumber(s) > 0 then r = r + 1 end
  local f = tonumber(redis.call('GET', K_FLOOR) or '0')
  if r > f then redis.call('SET', K_FLOOR, fmt(r)) end
end

-- Delete every row of lease id at one revision (sorted by table/key), then
-- the lease. Returns the revision, 0 when the lease had no rows.
local function drop_lease(id, limit)
  local members = redis.call('SMEMBERS', lease_rows(id))
  table.sort(members)
  local rows = {}
  for _, m in ipairs(members) do
    local slash = string.find(m, '/', 1, true)
    local tbl, key = string.sub(m, 1, slash - 1), string.sub(m, slash + 1)
    local meta = redis.call('HGET', meta_key(tbl), key)
    if meta then
      local c, _, l, tp = parse(meta)
      if l == id then rows[#rows + 1] = {tbl, key, c, tp} end
    end
  end
  local rev = 0
  if #rows > 0 then
    rev = next_rev()
    for i, r in ipairs(rows) do
      append(rev, i - 1, 'd', r[1], r[2], redis.call('GET', row_key(r[1], r[4], r[2])) or '', r[3], id)
    end
    for _, r in ipairs(rows) do
      redis.call('DEL', row_key(r[1], r[4], r[2]))
      local mk = meta_key(r[1])
      redis.call('HDEL', mk, r[2])
      if redis.call('HLEN', mk) == 0 then redis.call('SREM', K_TABLES, r[1]) end
    end
  end
  redis.call('DEL', lease_rows(id))
  redis.call('ZREM', K_LEASES, id)
  redis.call('HDEL', K_LEASE_TTL, id)
  if rev > 0 then trim(limit) end
  return rev
end

-- A lease is alive while its deadline (server clock) is ahead.
local function alive(id)
  local dl = redis.call('ZSCORE', K_LEASES, id)
  return dl and tonumber(dl) > now_ms()
end
`

// ARGV: P, table, key.
var scriptGet = goredis.NewScript(prelude + `
local tbl, key = ARGV[2], ARGV[3]
local meta = redis.call('HGET', meta_key(tbl), key)
if not meta then return {'notfound'} end
local c, mr, l, tp = parse(meta)
return {'ok', redis.call('GET', row_key(tbl, tp, key)) or '', fmt(c), fmt(mr), l}
`)

// ARGV: P, table, filter ("1": only rows of topic), topic.
// Answers: revision, then key, value, create, mod, lease per row.
var scriptList = goredis.NewScript(prelude + `
local tbl, filter, topic = ARGV[2], ARGV[3] == '1', ARGV[4]
local all = redis.call('HGETALL', meta_key(tbl))
local out = {fmt(cur_rev())}
for i = 1, #all, 2 do
  local key = all[i]
  local c, mr, l, tp = parse(all[i + 1])
  if not filter or tp == topic then
    out[#out + 1] = key
    out[#out + 1] = redis.call('GET', row_key(tbl, tp, key)) or ''
    out[#out + 1] = fmt(c)
    out[#out + 1] = fmt(mr)
    out[#out + 1] = l
  end
end
return out
`)

// ARGV: P, mode (create|update|put), table, key, value, topic, expectRev,
// lease, log limit. Answers ok, revision, create revision.
var scriptWrite = goredis.NewScript(prelude + `
local mode, tbl, key, value, topic = ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local expect, lease, limit = tonumber(ARGV[7]), ARGV[8], tonumber(ARGV[9])
local mk = meta_key(tbl)
local old = redis.call('HGET', mk, key)
local oc, om, ol, otp
if old then oc, om, ol, otp = parse(old) end
if mode == 'create' and old then return {'exists'} end
if mode == 'update' then
  if not old then return {'notfound'} end
  if expect > 0 and om ~= expect then return {'conflict'} end
end
if lease ~= '0' and not alive(lease) then return {'lease'} end
local rev = next_rev()
local create = rev
if old then create = oc end
append(rev, 0, 'p', tbl, key, value, create, lease)
local rk = row_key(tbl, topic, key)
if old then
  local ork = row_key(tbl, otp, key)
  if ork ~= rk then redis.call('DEL', ork) end
  if ol ~= '0' and ol ~= lease then redis.call('SREM', lease_rows(ol), tbl .. '/' .. key) end
end
redis.call('SET', rk, value)
redis.call('HSET', mk, key, enc(create, rev, lease, topic))
if not old then redis.call('SADD', K_TABLES, tbl) end
if lease ~= '0' then redis.call('SADD', lease_rows(lease), tbl .. '/' .. key) end
trim(limit)
return {'ok', fmt(rev), fmt(create)}
`)

// ARGV: P, table, key, expectRev, log limit.
var scriptDelete = goredis.NewScript(prelude + `
local tbl, key, expect, limit = ARGV[2], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
local mk = meta_key(tbl)
local old = redis.call('HGET', mk, key)
if not old then return {'notfound'} end
local oc, om, ol, otp = parse(old)
if expect > 0 and om ~= expect then return {'conflict'} end
local rev = next_rev()
local rk = row_key(tbl, otp, key)
append(rev, 0, 'd', tbl, key, redis.call('GET', rk) or '', oc, ol)
redis.call('DEL', rk)
redis.call('HDEL', mk, key)
if redis.call('HLEN', mk) == 0 then redis.call('SREM', K_TABLES, tbl) end
if ol ~= '0' then redis.call('SREM', lease_rows(ol), tbl .. '/' .. key) end
trim(limit)
return {'ok', fmt(rev)}
`)

// ARGV: P, ttl in ms. Answers the lease id.
var scriptGrant = goredis.NewScript(prelude + `
local ttl = tonumber(ARGV[2])
local id = fmt(redis.call('INCR', K_LEASE_ID))
redis.call('ZADD', K_LEASES, fmt(now_ms() + ttl), id)
redis.call('HSET', K_LEASE_TTL, id, fmt(ttl))
return {id}
`)

// ARGV: P, lease id, log limit. An expired lease found here is dropped
// (its rows deleted) and reported gone.
var scriptKeepAlive = goredis.NewScript(prelude + `
local id, limit = ARGV[2], tonumber(ARGV[3])
if not redis.call('ZSCORE', K_LEASES, id) then return {'lease'} end
if not alive(id) then drop_lease(id, limit); return {'lease'} end
local ttl = tonumber(redis.call('HGET', K_LEASE_TTL, id))
redis.call('ZADD', K_LEASES, fmt(now_ms() + ttl), id)
return {'ok'}
`)

// ARGV: P, lease id, log limit.
var scriptRevoke = goredis.NewScript(prelude + `
local id, limit = ARGV[2], tonumber(ARGV[3])
if not redis.call('ZSCORE', K_LEASES, id) then return {'lease'} end
local was_alive = alive(id)
drop_lease(id, limit)
if not was_alive then return {'lease'} end
return {'ok'}
`)

// ARGV: P, log limit, batch. Drops up to batch expired leases; answers
// how many.
var scriptReap = goredis.NewScript(prelude + `
local limit, batch = tonumber(ARGV[2]), tonumber(ARGV[3])
local ids = redis.call('ZRANGEBYSCORE', K_LEASES, '-inf', fmt(now_ms()), 'LIMIT', 0, batch)
for _, id in ipairs(ids) do drop_lease(id, limit) end
return #ids
`)

// ARGV: P, revision.
var scriptCompact = goredis.NewScript(prelude + `
local rev = tonumber(ARGV[2])
local cur = cur_rev()
if rev > cur then return {'future', fmt(cur)} end
local f = tonumber(redis.call('GET', K_FLOOR) or '0')
if rev <= f then return {'compacted', fmt(f)} end
redis.call('SET', K_FLOOR, fmt(rev))
redis.call('XTRIM', K_LOG, 'MINID', fmt(rev) .. '-0')
return {'ok'}
`)

// ARGV: P. Answers the current revision and the floor.
var scriptState = goredis.NewScript(prelude + `
return {fmt(cur_rev()), redis.call('GET', K_FLOOR) or '0'}
`)
