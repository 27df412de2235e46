// The first layout's Lua scripts (legacy-session-store.ts registers them as commands). Each runs atomically on the
// user's shard: every key it touches carries the user's hash tag. Each change a live connection must hear of is
// announced by the script that makes it (SPUBLISH on the user's channel).
import type { Result } from "ioredis";
import { ANNOUNCE_ENDED } from "./session-scripts.js";

const ENDED = ANNOUNCE_ENDED;

export const CREATE = `${ENDED}
local idx, skey, prefix, channel = KEYS[1], KEYS[2], ARGV[1], ARGV[7]
local sid, max, created, expireAt, idxExpireAt = ARGV[2], tonumber(ARGV[3]), ARGV[4], ARGV[5], ARGV[6]
for _, m in ipairs(redis.call('ZRANGE', idx, 0, -1)) do
  if redis.call('EXISTS', prefix .. m) == 0 then redis.call('ZREM', idx, m) end
end
local evicted = {}
local n = redis.call('ZCARD', idx)
while n >= max do
  local oldest = redis.call('ZPOPMIN', idx)
  redis.call('DEL', prefix .. oldest[1])
  evicted[#evicted + 1] = oldest[1]
  n = n - 1
end
redis.call('HSET', skey, unpack(ARGV, 8))
redis.call('PEXPIREAT', skey, expireAt)
redis.call('ZADD', idx, created, sid)
redis.call('PEXPIREAT', idx, idxExpireAt)
ended(channel, evicted, 'evicted', created)
return evicted
`;

export const TOUCH = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'ls', ARGV[1])
redis.call('PEXPIREAT', KEYS[1], ARGV[2])
return 1
`;

// ARGV: sid, channel, reason, now. An empty reason announces nothing (a refused login's own session).
export const REVOKE = `${ENDED}
redis.call('ZREM', KEYS[1], ARGV[1])
local removed = redis.call('DEL', KEYS[2])
if removed == 1 and ARGV[3] ~= '' then ended(ARGV[2], {ARGV[1]}, ARGV[3], ARGV[4]) end
return removed
`;

// ARGV: prefix, keep, channel, reason, now.
export const REVOKE_ALL = `${ENDED}
local removed = {}
for _, m in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if m ~= ARGV[2] then
    if redis.call('DEL', ARGV[1] .. m) == 1 then removed[#removed + 1] = m end
    redis.call('ZREM', KEYS[1], m)
  end
end
ended(ARGV[3], removed, ARGV[4], ARGV[5])
return removed
`;

// ARGV: prefix, roles (JSON), channel, now.
export const SET_ROLES = `
for _, m in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if redis.call('EXISTS', ARGV[1] .. m) == 1 then redis.call('HSET', ARGV[1] .. m, 'ro', ARGV[2]) end
end
-- Concatenated, not cjson.encode: cjson turns an empty roles array into {}.
redis.call('SPUBLISH', ARGV[3], '{"t":"updated","roles":' .. ARGV[2] .. ',"at":' .. ARGV[4] .. '}')
return 1
`;

declare module "ioredis" {
  interface RedisCommander<Context> {
    legacySessionCreate(idx: string, skey: string, ...args: (string | number)[]): Result<string[], Context>;
    legacySessionTouch(skey: string, lastSeen: number, expireAt: number): Result<number, Context>;
    legacySessionRevoke(idx: string, skey: string, sid: string, channel: string, reason: string, now: number): Result<number, Context>;
    legacySessionRevokeAll(idx: string, prefix: string, keep: string, channel: string, reason: string, now: number): Result<string[], Context>;
    legacySessionSetRoles(idx: string, prefix: string, roles: string, channel: string, now: number): Result<number, Context>;
  }
}
