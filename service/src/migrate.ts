// Applies the database migrations to DIRECT_DATABASE_URL (straight to PostgreSQL, never through PgBouncer), then
// exits: 0 when the database is up to date, 1 on failure, 2 on bad configuration. The chart's migration Job and
// scripts/migrate.sh run it; it writes nothing to disk, so it runs on a read-only root filesystem.
//   node dist/migrate.js [--dir <migrations folder>]
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import pg from "pg";
import { MigrationError, applyMigrations, readMigrations } from "./adapters/postgres/migrations.js";
import { ConfigError, loadMigrationConfig } from "./config.js";

const DEFAULT_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../service/prisma/migrations");
// A database that is still starting (a fresh install) gets this long before the runner gives up.
const CONNECT_DEADLINE_MS = 60_000;

const say = (line: string) => process.stderr.write(`migrate: ${line}\n`);

/** Worth another try: the server is not reachable or still starting (not, say, a wrong password). */
function transient(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === "string") return code.startsWith("E") || code === "57P03"; // ECONNREFUSED, ENOTFOUND, ...; cannot_connect_now
  return /timeout|terminated/i.test(err instanceof Error ? err.message : "");
}

async function connect(url: string): Promise<pg.Client> {
  const deadline = Date.now() + CONNECT_DEADLINE_MS;
  for (;;) {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000, application_name: "auth-cluster-migrate" });
    try {
      await client.connect();
      return client;
    } catch (err) {
      await client.end().catch(() => undefined);
      if (!transient(err) || Date.now() > deadline) throw err;
      say(`database not reachable yet (${err instanceof Error ? err.message : String(err)}); retrying`);
      await new Promise((r) => setTimeout(r, 2_000));
    }
  }
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { dir: { type: "string" } } });
  const { directUrl } = loadMigrationConfig();
  const migrations = await readMigrations(values.dir ?? DEFAULT_DIR);
  const client = await connect(directUrl);
  try {
    const applied = await applyMigrations(client, migrations, say);
    say(`up to date: ${migrations.length} migrations, ${applied.length} applied now`);
    return 0;
  } finally {
    await client.end();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof ConfigError) {
      say(err.message);
      process.exit(2);
    }
    say(err instanceof MigrationError ? err.message : `failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
