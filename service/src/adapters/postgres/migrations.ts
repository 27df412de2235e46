// Applies the migrations in Prisma's layout (<dir>/<timestamp>_<name>/migration.sql) with plain SQL, each once,
// in order, in one transaction, recorded in Prisma's own _prisma_migrations table with Prisma's checksum
// (SHA-256 of the file), so `prisma migrate deploy` and this runner see each other's work. Hand-written because
// `prisma migrate deploy` needs a schema engine that Prisma downloads when it starts: impossible on a read-only
// root filesystem (the chart's Job) and on machines without internet access.
import { createHash, randomUUID } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import type pg from "pg";

/** Every step holds this advisory lock for its transaction, so runners started at once take turns. */
const LOCK_KEY = 72707369;

const CREATE_TABLE = `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
  "id"                  VARCHAR(36) PRIMARY KEY NOT NULL,
  "checksum"            VARCHAR(64) NOT NULL,
  "finished_at"         TIMESTAMPTZ,
  "migration_name"      VARCHAR(255) NOT NULL,
  "logs"                TEXT,
  "rolled_back_at"      TIMESTAMPTZ,
  "started_at"          TIMESTAMPTZ NOT NULL DEFAULT now(),
  "applied_steps_count" INTEGER NOT NULL DEFAULT 0
)`;

export class MigrationError extends Error {
  override name = "MigrationError";
}

export interface Migration {
  name: string;
  sql: string;
  checksum: string;
}

/** The migrations in dir, in the order Prisma applies them (folder names sort by their timestamp). */
export async function readMigrations(dir: string): Promise<Migration[]> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    throw new MigrationError(`no migrations folder at ${dir}`, { cause: err });
  }
  const migrations: Migration[] = [];
  for (const name of entries.filter((e) => e.isDirectory()).map((e) => e.name).sort()) {
    const sql = await readFile(path.join(dir, name, "migration.sql"), "utf8").catch(() => null);
    if (sql !== null) migrations.push({ name, sql, checksum: createHash("sha256").update(sql).digest("hex") });
  }
  return migrations;
}

async function inTransaction<T>(client: pg.ClientBase, work: () => Promise<T>): Promise<T> {
  await client.query("BEGIN");
  try {
    await client.query("SELECT pg_advisory_xact_lock($1)", [LOCK_KEY]);
    const result = await work();
    await client.query("COMMIT");
    return result;
  } catch (err) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw err;
  }
}

interface Recorded {
  checksum: string;
  finished_at: Date | null;
  rolled_back_at: Date | null;
}

/** Applies what is not yet applied; returns the names applied now. */
export async function applyMigrations(client: pg.ClientBase, migrations: Migration[], log: (line: string) => void = () => undefined): Promise<string[]> {
  await inTransaction(client, () => client.query(CREATE_TABLE));
  const applied: string[] = [];
  for (const m of migrations) {
    const ran = await inTransaction(client, async () => {
      const { rows } = await client.query<Recorded>(
        "SELECT checksum, finished_at, rolled_back_at FROM _prisma_migrations WHERE migration_name = $1",
        [m.name],
      );
      const done = rows.find((r) => r.finished_at !== null && r.rolled_back_at === null);
      if (done) {
        if (done.checksum !== m.checksum) {
          throw new MigrationError(`migration ${m.name} was changed after it was applied (recorded checksum ${done.checksum}, file ${m.checksum})`);
        }
        return false;
      }
      // Prisma leaves such a row when a migration fails half-way; it refuses to go on, and so do we.
      if (rows.some((r) => r.finished_at === null && r.rolled_back_at === null)) {
        throw new MigrationError(`migration ${m.name} failed earlier and is recorded as unfinished: fix the database, then mark it with \`prisma migrate resolve\``);
      }
      log(`applying ${m.name}`);
      await client.query(m.sql);
      await client.query(
        "INSERT INTO _prisma_migrations (id, checksum, finished_at, migration_name, started_at, applied_steps_count) VALUES ($1, $2, now(), $3, now(), 1)",
        [randomUUID(), m.checksum, m.name],
      );
      return true;
    });
    if (ran) applied.push(m.name);
  }
  return applied;
}
