// Migrations apply in order, once each, recorded in Prisma's table; the Prisma client works through PgBouncer.
import { execFile, execFileSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import { promisify } from "node:util";
import { randomBytes } from "node:crypto";
import path from "node:path";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { ROOT, STATE, infraEnv } from "../../../support/env.js";
import { startStack, uniqueName } from "../../../support/stack.js";

const execFileAsync = promisify(execFile);

const superuser = (sql: string) =>
  execFileSync("runuser", ["-u", "postgres", "--", "psql", "-h", path.join(STATE, "postgres/run"), "-p", "55432", "-U", "postgres", "-qtAc", sql], {
    encoding: "utf8",
  });

describe("migrations", () => {
  const db = `auth_mig_${randomBytes(4).toString("hex")}`;
  const url = infraEnv().DIRECT_DATABASE_URL!.replace(/\/auth$/, `/${db}`);
  afterAll(() => {
    superuser(`DROP DATABASE IF EXISTS ${db}`);
  });

  const migrate = (...args: string[]) =>
    execFileSync(path.join(ROOT, "scripts/migrate.sh"), args, { env: { ...process.env, DIRECT_DATABASE_URL: url }, encoding: "utf8", stdio: "pipe" });
  /** The runner's exit code and what it said, for runs that must fail. */
  const migrateFails = (...args: string[]) => {
    try {
      migrate(...args);
      return { status: 0, stderr: "" };
    } catch (err) {
      const e = err as { status: number; stderr: string };
      return { status: e.status, stderr: e.stderr };
    }
  };

  it("applies every migration once, and a second run is a no-op", async () => {
    superuser(`CREATE DATABASE ${db} OWNER auth`);
    migrate();
    migrate(); // the second run: nothing to apply
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const tables = await client.query<{ t: string }>("SELECT tablename AS t FROM pg_tables WHERE schemaname = 'public' ORDER BY 1");
      expect(tables.rows.map((r) => r.t)).toEqual(["_prisma_migrations", "login_events", "users"]);
      const applied = await client.query("SELECT migration_name, checksum, finished_at FROM _prisma_migrations");
      expect(applied.rowCount).toBe(1);
      expect(applied.rows[0].finished_at).not.toBeNull();
      expect(applied.rows[0].checksum).toMatch(/^[0-9a-f]{64}$/);
    } finally {
      await client.end();
    }
  });

  it("lets several runners start at once (replicas or Jobs racing): all succeed, each migration applied once", async () => {
    const raced = `${db}_race`;
    superuser(`CREATE DATABASE ${raced} OWNER auth`);
    try {
      const env = { ...process.env, DIRECT_DATABASE_URL: url.replace(new RegExp(`/${db}$`), `/${raced}`) };
      const runs = await Promise.allSettled(Array.from({ length: 4 }, () => execFileAsync(path.join(ROOT, "scripts/migrate.sh"), { env })));
      expect(runs.map((r) => (r.status === "fulfilled" ? "ok" : String((r.reason as { stderr?: string }).stderr)))).toEqual(["ok", "ok", "ok", "ok"]);
      const dirs = readdirSync(path.join(ROOT, "service/prisma/migrations"), { withFileTypes: true }).filter((d) => d.isDirectory());
      const client = new pg.Client({ connectionString: env.DIRECT_DATABASE_URL });
      await client.connect();
      try {
        const applied = await client.query("SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL");
        expect(applied.rows.map((r: { migration_name: string }) => r.migration_name).sort()).toEqual(dirs.map((d) => d.name).sort());
      } finally {
        await client.end();
      }
    } finally {
      superuser(`DROP DATABASE IF EXISTS ${raced}`);
    }
  });

  it("refuses a migration changed after it was applied, and one Prisma recorded as unfinished, naming it", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "auth-migrations-"));
    try {
      cpSync(path.join(ROOT, "service/prisma/migrations"), dir, { recursive: true });
      const first = readdirSync(dir, { withFileTypes: true }).find((d) => d.isDirectory())!.name;
      writeFileSync(path.join(dir, first, "migration.sql"), "-- edited after it was applied\n", { flag: "a" });
      const changed = migrateFails("--dir", dir);
      expect(changed.status).toBe(1);
      expect(changed.stderr).toContain(`migration ${first} was changed after it was applied`);

      const later = "29991231000000_later";
      cpSync(path.join(ROOT, "service/prisma/migrations"), dir, { recursive: true }); // undo the edit
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        await client.query("INSERT INTO _prisma_migrations (id, checksum, migration_name) VALUES (gen_random_uuid(), 'x', $1)", [later]);
        mkdirSync(path.join(dir, later));
        writeFileSync(path.join(dir, later, "migration.sql"), "CREATE TABLE never_created (id int);\n");
        const unfinished = migrateFails("--dir", dir);
        expect(unfinished.status).toBe(1);
        expect(unfinished.stderr).toContain(`migration ${later} failed earlier`);
        const made = await client.query("SELECT to_regclass('never_created') AS t");
        expect(made.rows[0].t).toBeNull();
      } finally {
        await client.query("DELETE FROM _prisma_migrations WHERE migration_name = $1", [later]);
        await client.end();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("stops with exit code 2 and names the variable when DIRECT_DATABASE_URL is missing or malformed", () => {
    for (const value of ["", "mysql://x@y/z"]) {
      try {
        execFileSync(process.execPath, [path.join(ROOT, "dist/migrate.js")], { env: { ...process.env, DIRECT_DATABASE_URL: value }, stdio: "pipe" });
        expect.unreachable("the runner accepted a bad DIRECT_DATABASE_URL");
      } catch (err) {
        expect((err as { status: number }).status).toBe(2);
        expect(String((err as { stderr: Buffer }).stderr)).toMatch(/invalid configuration: DIRECT_DATABASE_URL must be/);
      }
    }
  });

  it("writes and reads a User with the Prisma client through PgBouncer", async () => {
    const stack = await startStack();
    try {
      expect(stack.config.db.url).toContain(":56432/");
      const username = uniqueName("prisma");
      const created = await stack.deps.db.prisma.user.create({ data: { username, passwordHash: "x", roles: ["a", "b"] } });
      const found = await stack.deps.db.prisma.user.findUnique({ where: { username } });
      expect(found).toMatchObject({ id: created.id, username, roles: ["a", "b"], disabled: false });
      await stack.deps.db.prisma.user.delete({ where: { id: created.id } });
    } finally {
      await stack.close();
    }
  });
});
