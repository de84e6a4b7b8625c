# One image for every Frontdesk process (gateway, subgraphs; later adapters and legacy stand-ins);
# docker-compose.yml picks the entry point per service.

FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY gateway ./gateway
COPY subgraphs ./subgraphs
COPY adapters ./adapters
COPY legacy ./legacy
COPY schema ./schema
COPY scripts ./scripts
RUN node node_modules/typescript/bin/tsc -p tsconfig.build.json

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    APOLLO_TELEMETRY_DISABLED=true
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
# Runtime files read from the source tree: subgraph SDLs, adapter mappings and specs, the
# supergraph, the config.
COPY subgraphs ./subgraphs
COPY adapters ./adapters
COPY legacy ./legacy
COPY schema ./schema
COPY gateway/config.schema.json gateway/permissions.schema.json ./gateway/
COPY frontdesk.config.yaml ./
USER node
EXPOSE 4000
CMD ["node", "dist/gateway/src/main.js"]
