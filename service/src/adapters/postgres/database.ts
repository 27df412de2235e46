// The Prisma client on @prisma/adapter-pg, through PgBouncer. We build the pg Pool ourselves so that its size
// and acquire timeout are explicit (the adapter's default is 10 with no timeout) and its saturation observable.
import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";
import type { Config } from "../../config.js";
import { PrismaClient } from "../../generated/prisma/client.js";

export interface Database {
  prisma: PrismaClient;
  pool: pg.Pool;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface PoolObserver {
  acquired?(waitMs: number): void;
  acquireTimedOut?(): void;
}

/** pg.Pool that measures how long each checkout waited, and counts checkouts that gave up. */
class ObservedPool extends pg.Pool {
  observer: PoolObserver = {};

  override connect(): Promise<pg.PoolClient>;
  override connect(callback: (err: Error | undefined, client: pg.PoolClient | undefined, done: (release?: unknown) => void) => void): void;
  override connect(
    callback?: (err: Error | undefined, client: pg.PoolClient | undefined, done: (release?: unknown) => void) => void,
  ): Promise<pg.PoolClient> | void {
    const started = performance.now();
    const settle = (err: Error | undefined) => {
      if (err && /timeout/i.test(err.message)) this.observer.acquireTimedOut?.();
      else if (!err) this.observer.acquired?.(performance.now() - started);
    };
    if (callback) {
      super.connect((err, client, done) => {
        settle(err);
        callback(err, client, done);
      });
      return;
    }
    return super.connect().then(
      (client) => {
        settle(undefined);
        return client;
      },
      (err: Error) => {
        settle(err);
        throw err;
      },
    );
  }
}

export function createDatabase(cfg: Config["db"], onPoolError: (err: Error) => void, observer: PoolObserver = {}): Database {
  const pool = new ObservedPool({
    connectionString: cfg.url,
    max: cfg.poolSize,
    // pg-pool applies this both to opening a connection and to waiting for a free one.
    connectionTimeoutMillis: cfg.acquireTimeoutMs,
    idleTimeoutMillis: 30_000,
    // Client-side: PgBouncer refuses a statement_timeout startup parameter.
    query_timeout: cfg.statementTimeoutMs,
    application_name: "auth-cluster",
  });
  pool.observer = observer;
  pool.on("error", onPoolError);
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool, { onPoolError }) });
  return {
    prisma,
    pool,
    async ping() {
      await pool.query("SELECT 1");
    },
    async close() {
      await prisma.$disconnect();
      await pool.end();
    },
  };
}
