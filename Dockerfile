# The stack-migrate worker (also runs the emulated stacks of the compose demo profile).
# Debian, not Alpine: the Temporal worker's native core bridge ships glibc builds.
FROM node:20-bookworm-slim

WORKDIR /app
ENV NODE_ENV=production

# Dependencies first, so source edits reuse this layer. tsx is a runtime dependency: scripts run TypeScript directly.
COPY package.json package-lock.json ./
RUN npm install --omit=dev --no-audit --no-fund && npm cache clean --force

COPY . .
RUN mkdir -p /data/us /data/eu && chown -R node:node /data

USER node
CMD ["npm", "run", "worker"]
