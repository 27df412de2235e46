// What Redis holds and what each operation costs there.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RedisSessionStore } from "../../src/adapters/redis/session-store.js";
import { hashSecret, newSecret, newSessionId } from "../../src/auth/tokens.js";
import { bearer, login, register, userWithSession, validate } from "../support/api.js";
import { currentMaster, direct } from "../support/infra.js";
import { startStack, uniqueName, type Stack } from "../support/stack.js";
import request from "supertest";
import { randomUUID } from "node:crypto";
import type { Writable } from "node:stream";
import type { Redis } from "ioredis";

describe("Redis layout", () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ SESSION_MAX_PER_USER: "3" });
    // What a login costs once no session of the legacy layout is left (other test files wrote some): test-only,
    // its sessions are dropped from the set that tells whether it holds any, and one login lets the store notice.
    await stack.deps.redis.del("auth:active");
    await userWithSession(stack.app, uniqueName("warm"));
  });
  afterAll(async () => {
    await stack?.close();
  });

  it("holds no token secret: a dump of every key and value after logins contains none", async () => {
    const tokens: string[] = [];
    for (let i = 0; i < 3; i++) tokens.push((await userWithSession(stack.app, uniqueName("dump"))).token);
    const master = direct(await currentMaster());
    try {
      const keys = await master.keys("*"); // test-only: the service itself never lists keys
      let dump = keys.join("\n");
      for (const key of keys) {
        const type = await master.type(key);
        if (type === "hash") dump += JSON.stringify(await master.hgetall(key));
        else if (type === "zset") dump += JSON.stringify(await master.zrange(key, 0, -1, "WITHSCORES"));
        else if (type === "string") dump += String(await master.get(key));
        else if (type === "set") dump += JSON.stringify(await master.smembers(key));
      }
      for (const token of tokens) {
        const secret = token.split(".")[2]!;
        expect(dump).not.toContain(secret);
        expect(dump).toContain(Buffer.from(hashSecret(secret), "hex").toString("base64url")); // only its SHA-256 is stored
      }
    } finally {
      master.disconnect();
    }
  });

  it("keeps one user's keys in one hash slot", async () => {
    const { userId } = await userWithSession(stack.app, uniqueName("slot"));
    const master = direct(await currentMaster());
    try {
      const keys = await master.keys(`*${userId}*`);
      expect(keys.length).toBeGreaterThanOrEqual(1);
      const tags = new Set(keys.map((k) => /\{([^}]+)\}/.exec(k)?.[1]));
      expect([...tags]).toEqual([`u:${userId}`]);
    } finally {
      master.disconnect();
    }
  });

  it("counts active sessions cheaply: new ones in, ended ones out", async () => {
    const before = await stack.deps.sessions.countActive();
    const a = await userWithSession(stack.app, uniqueName("count"));
    await userWithSession(stack.app, uniqueName("count"));
    expect(await stack.deps.sessions.countActive()).toBe(before + 2);
    await request(stack.app).delete("/v1/session").set(bearer(a.token));
    expect(await stack.deps.sessions.countActive()).toBe(before + 1);
  });

  it("sends the same number of Redis commands for login, validate and logout with 10 or 10,000 other sessions", async () => {
    const filler = new RedisSessionStore(stack.deps.redis, { replicas: 0, timeoutMs: 0, onTimeout: "accept" });
    const addOthers = async (n: number) => {
      for (let i = 0; i < n; i += 500) {
        await Promise.all(
          Array.from({ length: Math.min(500, n - i) }, () => {
            const now = Date.now();
            return filler.create(
              { id: newSessionId(), userId: randomUUID(), username: "filler", roles: [], secretHash: hashSecret(newSecret()), createdAt: now, expiresAt: now + 3_600_000, ip: "", userAgent: "" },
              1,
              3_600_000,
            );
          }),
        );
      }
    };
    const measure = async () => {
      const name = uniqueName("cost");
      await register(stack.app, name);
      const login1 = await commandsDuring(() => login(stack.app, name));
      const token = (await login(stack.app, name)).body.token as string;
      const validate1 = await commandsDuring(() => validate(stack.app, token));
      const logout1 = await commandsDuring(() => request(stack.app).delete("/v1/session").set(bearer(token)));
      return { login: login1, validate: validate1, logout: logout1 };
    };
    // The master counts every client's commands: a background one (a replica's presence sweep, every heartbeat)
    // landing in a window only adds. The fewest of three measurements is the operation's own cost.
    const fewest = async () => {
      const runs = [await measure(), await measure(), await measure()];
      return { login: Math.min(...runs.map((r) => r.login)), validate: Math.min(...runs.map((r) => r.validate)), logout: Math.min(...runs.map((r) => r.logout)) };
    };
    await addOthers(10);
    const small = await fewest();
    await addOthers(9_990);
    const large = await fewest();
    expect(large).toEqual(small);
    expect(small.validate).toBe(1);
  });

  it("logs in with two Redis round trips: the throttle read, then the session write with its count and WAIT", async () => {
    const name = uniqueName("trips");
    await register(stack.app, name);
    const writes = await redisWritesDuring([stack.deps.redis, stack.deps.durableRedis], () => login(stack.app, name));
    expect(writes.map((w) => w.commands)).toEqual([["mget"], ["evalsha", "evalsha", "wait"]]);
    // After a failed attempt the success also resets the username+IP counter: one more write.
    await login(stack.app, name, "wrong password");
    const after = await redisWritesDuring([stack.deps.redis, stack.deps.durableRedis], () => login(stack.app, name));
    expect(after.map((w) => w.commands)).toContainEqual(["del"]);
    expect(after).toHaveLength(3);
  });
});

/** The socket writes the service's Redis clients made during fn, each as the commands it carried (pings left out). */
async function redisWritesDuring(clients: Redis[], fn: () => Promise<unknown>): Promise<{ commands: string[] }[]> {
  const writes: { commands: string[] }[] = [];
  const restore = clients.map((client) => {
    const stream = (client as unknown as { stream: Writable }).stream;
    const write = stream.write.bind(stream) as (...a: unknown[]) => boolean;
    stream.write = function (chunk: unknown, ...rest: unknown[]) {
      // RESP: each command is "*<argc>\r\n$<len>\r\n<NAME>\r\n..."; take every command's name.
      const text = String(chunk);
      const commands = [...text.matchAll(/(?:^|\r\n)\*\d+\r\n\$\d+\r\n([A-Za-z]+)\r\n/g)].map((m) => m[1]!.toLowerCase());
      if (!commands.every((c) => c === "ping")) writes.push({ commands });
      return write(chunk, ...rest);
    } as Writable["write"];
    return () => {
      delete (stream as Partial<Writable>).write; // back to the prototype's
    };
  });
  try {
    await fn();
  } finally {
    for (const r of restore) r();
  }
  return writes;
}

/** Commands the master executed during fn (Sentinel's and replication's own traffic excluded). */
async function commandsDuring(fn: () => Promise<unknown>): Promise<number> {
  const master = direct(await currentMaster());
  try {
    await master.config("RESETSTAT");
    await fn();
    const stats = await master.info("commandstats");
    const ignored = new Set(["ping", "info", "publish", "replconf", "psync", "sync", "config", "subscribe", "hello", "auth", "client", "role", "command"]);
    let total = 0;
    for (const m of stats.matchAll(/^cmdstat_([a-z|_]+):calls=(\d+)/gm)) {
      if (!ignored.has(m[1]!.split("|")[0]!)) total += Number(m[2]);
    }
    return total;
  } finally {
    master.disconnect();
  }
}
