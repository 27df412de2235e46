import { describe, expect, it, vi } from "vitest";
import { BatchedAuditLog } from "../../../../src/adapters/postgres/audit-log.js";
import type { LoginEventInput } from "../../../../src/auth/ports.js";
import type { PrismaClient } from "../../../../src/generated/prisma/client.js";

const event = (i: number): LoginEventInput => ({ userId: null, attemptedUsername: `u${i}`, ip: "127.0.0.1", userAgent: null, result: "invalid_credentials", at: new Date() });

function fakePrisma(fail: boolean) {
  const batches: number[] = [];
  const written: string[] = [];
  const db = { down: fail };
  const prisma = {
    $executeRaw: async (_sql: TemplateStringsArray, ...columns: unknown[][]) => {
      if (db.down) throw new Error("database down");
      batches.push(columns[0]!.length);
      written.push(...(columns[1] as string[]));
      return columns[0]!.length;
    },
  } as unknown as PrismaClient;
  return { prisma, batches, written, db };
}

describe("BatchedAuditLog", () => {
  it("writes in batches of at most batchSize", async () => {
    const { prisma, batches } = fakePrisma(false);
    const log = new BatchedAuditLog(prisma, { batchSize: 3, flushIntervalMs: 10_000, queueMax: 100, onError: () => {} });
    for (let i = 0; i < 7; i++) log.record(event(i));
    await log.flush();
    expect(batches.reduce((a, b) => a + b, 0)).toBe(7);
    expect(Math.max(...batches)).toBeLessThanOrEqual(3);
  });

  it("never throws when the write fails, and reports it", async () => {
    const { prisma } = fakePrisma(true);
    const errors: number[] = [];
    const log = new BatchedAuditLog(prisma, { batchSize: 10, flushIntervalMs: 10_000, queueMax: 100, onError: (_e, n) => errors.push(n) });
    expect(() => log.record(event(1))).not.toThrow();
    await expect(log.flush()).resolves.toBeUndefined();
    expect(errors).toEqual([1]);
  });

  it("keeps a failed batch and writes it, in order, once the database is back", async () => {
    const { prisma, written, db } = fakePrisma(true);
    const log = new BatchedAuditLog(prisma, { batchSize: 2, flushIntervalMs: 5, queueMax: 100, onError: () => {} });
    for (let i = 0; i < 3; i++) log.record(event(i));
    await log.flush(); // fails: nothing lost, nothing thrown
    log.record(event(3));
    db.down = false;
    await vi.waitFor(() => expect(written).toEqual(["u0", "u1", "u2", "u3"]), { timeout: 2_000 });
  });

  it("drops the oldest events beyond queueMax instead of growing without bound", async () => {
    const { prisma } = fakePrisma(false);
    const dropped: string[] = [];
    const log = new BatchedAuditLog(prisma, {
      batchSize: 1000, flushIntervalMs: 10_000, queueMax: 5, onError: () => {},
      onDropped: (events) => dropped.push(...events.map((e) => e.attemptedUsername)),
    });
    for (let i = 0; i < 8; i++) log.record(event(i));
    expect(dropped).toEqual(["u0", "u1", "u2"]);
    await log.flush();
  });

  it("hands what it could not write by exit to onUnwritten, in order, and writes what it could", async () => {
    const down = fakePrisma(true);
    const unwritten: string[] = [];
    const log = new BatchedAuditLog(down.prisma, {
      batchSize: 2, flushIntervalMs: 10_000, queueMax: 100, onError: () => {},
      onUnwritten: (events) => unwritten.push(...events.map((e) => e.attemptedUsername)),
    });
    for (let i = 0; i < 3; i++) log.record(event(i));
    await log.close();
    expect(unwritten).toEqual(["u0", "u1", "u2"]);

    const up = fakePrisma(false);
    const healthy = new BatchedAuditLog(up.prisma, {
      batchSize: 2, flushIntervalMs: 10_000, queueMax: 100, onError: () => {},
      onUnwritten: () => expect.unreachable("everything was written"),
    });
    for (let i = 0; i < 3; i++) healthy.record(event(i));
    await healthy.close();
    expect(up.written).toEqual(["u0", "u1", "u2"]);
  });
});
