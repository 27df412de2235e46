// Runs `prisma generate`. The Prisma CLI downloads a schema-engine binary when it starts, which fails on a
// machine without internet access; generation itself never uses that engine, so where none is configured we
// point PRISMA_SCHEMA_ENGINE_BINARY at an executable placeholder (this Node binary) and let it run offline.
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const env = { ...process.env, PRISMA_HIDE_UPDATE_MESSAGE: "1", CHECKPOINT_DISABLE: "1" };
env.PRISMA_SCHEMA_ENGINE_BINARY ??= process.execPath;
const cli = require.resolve("prisma/build/index.js");
const result = spawnSync(process.execPath, [cli, "generate"], { stdio: "inherit", env });
process.exit(result.status ?? 1);
