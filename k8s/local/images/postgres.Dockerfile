# Stand-in for the official postgres image k8s/postgres.yaml names: Debian bookworm's PostgreSQL 15 with an
# entrypoint that honours the same variables (POSTGRES_USER, POSTGRES_PASSWORD, POSTGRES_DB, PGDATA).
# Built by scripts/k8s-images.sh under that image's name.
ARG BASE
FROM ${BASE}
# The official image runs as postgres, uid 999; initdb needs the uid to have a passwd entry.
# hadolint ignore=DL3008
RUN groupadd -r -g 999 postgres && useradd -r -u 999 -g 999 -d /var/lib/postgresql postgres \
  && apt-get update \
  && apt-get install -y --no-install-recommends postgresql-15 \
  && rm -rf /var/lib/apt/lists/* \
  && mkdir -p /var/run/postgresql /var/lib/postgresql/data \
  && chown -R 999:999 /var/run/postgresql /var/lib/postgresql
COPY postgres-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
ENV PATH=/usr/lib/postgresql/15/bin:$PATH PGDATA=/var/lib/postgresql/data
USER 999
EXPOSE 5432
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["postgres"]
