# Stand-in for the PgBouncer image the chart names: Debian bookworm's pgbouncer (1.18). Built by
# scripts/k8s-images.sh under the chart's image name.
ARG BASE
FROM ${BASE}
# hadolint ignore=DL3008
RUN apt-get update \
  && apt-get install -y --no-install-recommends pgbouncer \
  && rm -rf /var/lib/apt/lists/*
EXPOSE 6432
CMD ["pgbouncer", "/etc/pgbouncer/pgbouncer.ini"]
