# The service as an image: compiled JavaScript run by plain node, production dependencies only,
# as the unprivileged `node` user. docs/deployment.md explains the choices and how to run it.
ARG NODE_IMAGE=node:20-bookworm-slim

# build: every dependency (typescript, tsx), the Prisma client generated at install, then tsc
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json prisma.config.ts ./
COPY prisma/ ./prisma/
COPY src/scripts/generate.mjs ./src/scripts/
COPY console/build.mjs ./console/
RUN npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY src/ ./src/
# the web console's sources, built by npm run build into console/dist/ (served at /console)
COPY console/ ./console/
RUN npm run build

# runtime: dist/ already holds the compiled Prisma client, so no install script is needed here
# (the root one would only regenerate TypeScript; Prisma's would download unused native engines)
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=4000 \
    DATA_DIR=/data
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force
# read at run time from dist/: migrations and the schema the migration engine checks them against
COPY prisma/ ./prisma/
COPY --from=build /app/dist/ ./dist/
COPY --from=build /app/console/dist/ ./console/dist/
# the embedded database and its generated keys; created here so a new volume is owned by `node`
RUN mkdir -p /data && chown node:node /data
VOLUME /data
USER node
EXPOSE 4000
STOPSIGNAL SIGTERM
# /readyz: 503 while migrating or draining, 200 when serving (no curl in the slim image)
HEALTHCHECK --interval=15s --timeout=5s --start-period=120s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 4000) + '/readyz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "dist/server.js"]
