# One image for every commtwin service (ingest, api, simulate, db upgrade);
# docker-compose.yml runs it. Front-end packages come from the npm registry
# at build time (web/package-lock.json); nothing third-party is in the repo.
FROM node:20-bookworm-slim AS web
WORKDIR /src/web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error

FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
# Dependencies first (a layer cached until pyproject.toml changes), then the code.
COPY pyproject.toml README.md ./
RUN mkdir -p commtwin ingest twin api simulators schemas \
    && pip install --no-cache-dir . \
    && pip uninstall -y commtwin
COPY commtwin ./commtwin
COPY ingest ./ingest
COPY twin ./twin
COPY api ./api
COPY simulators ./simulators
COPY schemas ./schemas
# Editable: the API serves the pages (web/cockpit, web/district) and their npm
# packages (web/node_modules) from the web/ next to the api package
# (api.cockpit.DEFAULT_WEB_DIR = /app/web).
RUN pip install --no-cache-dir --no-deps -e . \
    && useradd --system --no-create-home --home-dir /app commtwin
COPY --from=web /src/web/node_modules ./web/node_modules
COPY web/package.json web/package-lock.json ./web/
COPY web/cockpit ./web/cockpit
COPY web/district ./web/district
USER commtwin
# 8000: API and cockpit; 9108: ingest's Prometheus /metrics.
EXPOSE 8000 9108
ENTRYPOINT ["commtwin"]
CMD ["--help"]
