# syntax=docker/dockerfile:1
# auth-cluster image: build with dev dependencies, prune them, run as a non-root numeric user on a read-only
# root filesystem (the chart's setting).
#   docker build -t auth-cluster:0.1.0 .
# Migrations run from the same image with the service's own runner (no schema engine, no download, no write):
#   command: ["node", "dist/migrate.js"]   (needs DIRECT_DATABASE_URL; the chart's migration Job runs it)

ARG NODE_IMAGE=node:24.22.3-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json prisma.config.ts ./
COPY scripts/prisma-generate.mjs scripts/
COPY service/prisma service/prisma
COPY service/src service/src
RUN npm run build && npm prune --omit=dev && npm cache clean --force

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/dist dist
COPY --from=build /app/service/prisma/migrations service/prisma/migrations
COPY service/demo service/demo
USER 10001:10001
EXPOSE 3000 9464
# Tracing is loaded before anything else; it does nothing unless OTEL_EXPORTER_OTLP_ENDPOINT is set.
CMD ["node", "--enable-source-maps", "--import", "./dist/observability/tracing.js", "dist/main.js"]
