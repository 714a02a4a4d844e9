# The stack-migrate worker (also runs the emulated stacks of the compose demo profile).
# Debian, not Alpine: the Temporal worker's native core bridge ships glibc builds.

# The worker runs compiled (scripts/worker-process.ts says why): tsc, a dev dependency, builds dist/ here.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm install --no-audit --no-fund
COPY . .
RUN npm run build:worker

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production

# Dependencies first, so source edits reuse this layer. tsx is a runtime dependency: the CLI and the emulator run
# TypeScript directly.
COPY package.json package-lock.json ./
RUN npm install --omit=dev --no-audit --no-fund && npm cache clean --force

COPY . .
COPY --from=build /app/dist ./dist
RUN mkdir -p /data/us /data/eu && chown -R node:node /data

USER node
# The command of `npm run worker`, without its build step, and its environment (test/infra/compose.test.ts keeps
# them equal; scripts/worker-process.ts says why).
ENV MALLOC_ARENA_MAX=2
CMD ["node", "--max-semi-space-size=4", "dist/worker/main.js"]
