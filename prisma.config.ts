// Prisma CLI settings. `migrate deploy` must bypass PgBouncer, so it reads DIRECT_DATABASE_URL.
// `prisma generate` needs no database; the placeholder only keeps the config loadable without one.
import { defineConfig } from "prisma/config";

export default defineConfig({
  schema: "service/prisma/schema.prisma",
  migrations: { path: "service/prisma/migrations" },
  datasource: {
    url: process.env.DIRECT_DATABASE_URL ?? "postgresql://unset@127.0.0.1:5432/unset",
  },
});
