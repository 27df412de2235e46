// The session store's Lua scripts (session-store.ts registers them as commands).
//
// A user's sessions: one hash, KEYS[1] = auth:{u:<id>}, fields "un" (user name), "ro" (roles, JSON) and one field
// per session, its id, holding "x|ls|ca|ea|sh|ip|ua": idle expiry, last seen, created, absolute expiry (ms, base
// 36), the secret's SHA-256 (base64url), address, user agent (last: it may hold "|"). The key lives until its
// latest session's idle expiry; expired fields are dropped by the scripts that read them all. Each change a live
// connection must hear of is announced by the script that makes it (SPUBLISH on the user's channel).
//
// The active count: KEYS[1] = auth:{active}:n, a hash of counts per expiry bucket (the bucket's end in ms) plus
// "n", their sum; KEYS[2] = auth:{active}:end, the buckets ordered by end. Every change moves "n" and one bucket
// together, and a bucket that ended is subtracted from "n" and dropped, so "n" counts the sessions whose bucket
// has not ended: every error ages out with its bucket. Redis's clock decides what ended.
import type { Result } from "ioredis";

/** ended(channel, ids, reason, at): announces that the sessions `ids` ended (both layouts' scripts use it). */
export const ANNOUNCE_ENDED = `
local function ended(channel, ids, reason, at)
  if #ids > 0 then
    redis.call('SPUBLISH', channel, cjson.encode({t = 'ended', ids = ids, r = reason, at = tonumber(at)}))
  end
end
`;

const ENDED = `${ANNOUNCE_ENDED}
local function expiry(v) return tonumber(string.match(v, '^(%w+)|'), 36) end
-- Drops the key when only the user's fields are left.
local function dropIfEmpty(key) if redis.call('HLEN', key) <= 2 then redis.call('DEL', key) end end
`;

// ARGV: now, sid, max, value, idle expiry (ms), user name, roles, channel. Returns {evicted ids, their expiries}.
export const CREATE = `${ENDED}
local key, now, sid, max, x = KEYS[1], tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[5])
local all = redis.call('HGETALL', key)
local live, drop = {}, {}
for i = 1, #all, 2 do
  local f, v = all[i], all[i + 1]
  if f ~= 'un' and f ~= 'ro' then
    local sx, created = string.match(v, '^(%w+)|%w+|(%w+)|')
    if tonumber(sx, 36) <= now then drop[#drop + 1] = f else live[#live + 1] = {f, tonumber(created, 36), sx} end
  end
end
table.sort(live, function(a, b) return a[2] < b[2] or (a[2] == b[2] and a[1] < b[1]) end)
local evicted, expiries = {}, {}
for i = 1, #live - max + 1 do
  drop[#drop + 1] = live[i][1]
  evicted[#evicted + 1] = live[i][1]
  expiries[#expiries + 1] = live[i][3]
end
if #drop > 0 then redis.call('HDEL', key, unpack(drop)) end
redis.call('HSET', key, 'un', ARGV[6], 'ro', ARGV[7], sid, ARGV[4])
if redis.call('PEXPIRETIME', key) < x then redis.call('PEXPIREAT', key, x) end
ended(ARGV[8], evicted, 'evicted', now)
return {evicted, expiries}
`;

// ARGV: sid, last seen (base 36), idle expiry (base 36), idle expiry (ms), now. Returns 1, or nil when the session
// is gone or expired (it is not brought back).
export const TOUCH = `${ENDED}
local v = redis.call('HGET', KEYS[1], ARGV[1])
if not v or expiry(v) <= tonumber(ARGV[5]) then return nil end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3] .. '|' .. ARGV[2] .. '|' .. string.match(v, '^%w+|%w+|(.*)$'))
if redis.call('PEXPIRETIME', KEYS[1]) < tonumber(ARGV[4]) then redis.call('PEXPIREAT', KEYS[1], ARGV[4]) end
return 1
`;

// ARGV: sid, channel, reason, now. An empty reason announces nothing (a refused login's own session). Returns the
// session's idle expiry (base 36), or nil when there was no live session.
export const REVOKE = `${ENDED}
local v = redis.call('HGET', KEYS[1], ARGV[1])
if not v then return nil end
redis.call('HDEL', KEYS[1], ARGV[1])
dropIfEmpty(KEYS[1])
if expiry(v) <= tonumber(ARGV[4]) then return nil end
if ARGV[3] ~= '' then ended(ARGV[2], {ARGV[1]}, ARGV[3], ARGV[4]) end
return string.match(v, '^(%w+)|')
`;

// ARGV: keep, channel, reason, now. Returns {revoked ids, their idle expiries}; expired ones go silently.
export const REVOKE_ALL = `${ENDED}
local all = redis.call('HGETALL', KEYS[1])
local drop, removed, expiries = {}, {}, {}
for i = 1, #all, 2 do
  local f, v = all[i], all[i + 1]
  if f ~= 'un' and f ~= 'ro' and f ~= ARGV[1] then
    drop[#drop + 1] = f
    if expiry(v) > tonumber(ARGV[4]) then
      removed[#removed + 1] = f
      expiries[#expiries + 1] = string.match(v, '^(%w+)|')
    end
  end
end
if #drop > 0 then redis.call('HDEL', KEYS[1], unpack(drop)) end
dropIfEmpty(KEYS[1])
ended(ARGV[2], removed, ARGV[3], ARGV[4])
return {removed, expiries}
`;

// ARGV: roles (JSON), channel, now. The roles are the user's, held once for all its sessions.
export const SET_ROLES = `
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HSET', KEYS[1], 'ro', ARGV[1]) end
-- Concatenated, not cjson.encode: cjson turns an empty roles array into {}.
redis.call('SPUBLISH', ARGV[2], '{"t":"updated","roles":' .. ARGV[1] .. ',"at":' .. ARGV[3] .. '}')
return 1
`;

const CLOCK = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`;

// ARGV: bucket, delta, bucket, delta, ... A bucket that already ended is left alone (its sessions are gone).
export const COUNT_ADD = `${CLOCK}
for i = 1, #ARGV, 2 do
  local b, d = ARGV[i], tonumber(ARGV[i + 1])
  if tonumber(b) > now then
    local c = redis.call('HINCRBY', KEYS[1], b, d)
    redis.call('HINCRBY', KEYS[1], 'n', d)
    if c == 0 then
      redis.call('HDEL', KEYS[1], b)
      redis.call('ZREM', KEYS[2], b)
    else
      redis.call('ZADD', KEYS[2], b, b)
    end
  end
end
return 1
`;

// ARGV: at (ms). Drops the buckets that ended, then counts the sessions whose bucket ends after \`at\`.
export const COUNT_READ = `${CLOCK}
local ended = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)
for _, b in ipairs(ended) do
  redis.call('HINCRBY', KEYS[1], 'n', -tonumber(redis.call('HGET', KEYS[1], b) or '0'))
  redis.call('HDEL', KEYS[1], b)
end
if #ended > 0 then redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now) end
local n = tonumber(redis.call('HGET', KEYS[1], 'n') or '0')
for _, b in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '(' .. now, ARGV[1])) do
  n = n - tonumber(redis.call('HGET', KEYS[1], b) or '0')
end
return n
`;

declare module "ioredis" {
  interface RedisCommander<Context> {
    sessionCreate(key: string, now: number, sid: string, max: number, value: string, idleExpiry: number, username: string, roles: string, channel: string): Result<[string[], string[]], Context>;
    sessionTouch(key: string, sid: string, lastSeen: string, idleExpiry36: string, idleExpiry: number, now: number): Result<number | null, Context>;
    sessionRevoke(key: string, sid: string, channel: string, reason: string, now: number): Result<string | null, Context>;
    sessionRevokeAll(key: string, keep: string, channel: string, reason: string, now: number): Result<[string[], string[]], Context>;
    sessionSetRoles(key: string, roles: string, channel: string, now: number): Result<number, Context>;
    sessionCountAdd(counts: string, ends: string, ...bucketDeltas: (string | number)[]): Result<number, Context>;
    sessionCountRead(counts: string, ends: string, at: number): Result<number, Context>;
  }
}
