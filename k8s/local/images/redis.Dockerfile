# Stand-in for the official redis image the chart names: Debian bookworm's redis-server, redis-sentinel and
# redis-tools (Redis 7.0.15). Built by scripts/k8s-images.sh under the chart's image name.
ARG BASE
FROM ${BASE}
# hadolint ignore=DL3008
RUN apt-get update \
  && apt-get install -y --no-install-recommends redis-server redis-sentinel redis-tools \
  && rm -rf /var/lib/apt/lists/* \
  && mkdir /data && chown 999:999 /data
WORKDIR /data
EXPOSE 6379
CMD ["redis-server"]
