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

export function createDatabase(cfg: Config["db"], onPoolError: (err: Error) => void): Database {
  const pool = new pg.Pool({
    connectionString: cfg.url,
    max: cfg.poolSize,
    // pg-pool applies this both to opening a connection and to waiting for a free one.
    connectionTimeoutMillis: cfg.acquireTimeoutMs,
    idleTimeoutMillis: 30_000,
    // Client-side: PgBouncer refuses a statement_timeout startup parameter.
    query_timeout: cfg.statementTimeoutMs,
    application_name: "auth-cluster",
  });
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
