# Rollcall's image: the API (the default command) and the projector worker (`node dist/apps/projector/src/main.js`).
# docker-compose.yml builds it once and runs both services from it.
#
# Node: the same release as the devDependency `node` in package.json (override with --build-arg NODE_VERSION=…).
ARG NODE_VERSION=24.21.0

# ---- build: all dependencies, compile, then drop the devDependencies -------------------------------------------
FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /app
# `npm ci` inside the image installs the registry's builds for the image's platform (linux x64 or arm64, glibc:
# @kurrent/bridge-linux-*-gnu and the like), never the host's node_modules.
# --ignore-scripts: package.json's allowScripts refuses every dependency's install script except the one of the
# devDependency `node` (it downloads the pinned Node binary for developers' machines); the image has its own Node.
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.base.json tsconfig.build.json ./
COPY apps ./apps
COPY libs ./libs
# `npm run build` puts node_modules/.bin first on PATH: remove the link to the (not installed) pinned Node binary so
# that tsc runs on the image's Node.
RUN rm -f node_modules/.bin/node \
 && npm run build \
 && npm prune --omit=dev --ignore-scripts --no-audit --no-fund

# ---- runtime: compiled JavaScript and production dependencies, as the unprivileged user `node` -----------------
FROM node:${NODE_VERSION}-bookworm-slim AS runtime
ENV NODE_ENV=production \
    PORT=3000 \
    PROJECTOR_PORT=9464 \
    ROLLCALL_DATA_DIR=/app/data
WORKDIR /app
# the code stays owned by root (read-only for the process); only the data dir belongs to `node` (uid 1000). A named
# volume mounted on /app/data (docker-compose.yml: api-data) starts with this ownership.
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
RUN mkdir -p /app/data && chown node:node /app/data
USER node
EXPOSE 3000 9464
# /health of the API (PORT: event store and read store reachable) or, where nothing listens there, of the projector
# worker (PROJECTOR_PORT: 503 once a projection has failed). docker-compose.yml states each service's check itself.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "const get = (port) => fetch('http://127.0.0.1:' + port + '/health', { signal: AbortSignal.timeout(2000) }); get(process.env.PORT || 3000).catch(() => get(process.env.PROJECTOR_PORT || 9464)).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# node itself is PID 1: both processes handle SIGTERM (docker stop) and close their stores. The V8 flag: the same as
# `npm start` (apps/api/src/infrastructure/node-flags.ts says why; not for the projector)
CMD ["node", "--max-semi-space-size=8", "dist/apps/api/src/main.js"]
