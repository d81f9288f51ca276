# crm: the image of the service, for docker-compose.yml (or any orchestrator).
#   docker build -t crm .
# The container never starts an embedded PostgreSQL: it needs CRM_DATABASE_URL
# (the crm_app role) and, to migrate at start, CRM_MIGRATE_DATABASE_URL (crm_owner).

# --- build: compile and install into /usr/local ------------------------------
FROM debian:bookworm-slim AS build

RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential cmake pkg-config \
      libevent-dev libpq-dev libjansson-dev libsodium-dev libcsv-dev libxlsxwriter-dev \
      libcurl4-openssl-dev \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /src
# Only what the build reads, so that edits to tests or docs keep the cache
# (api/openapi.yaml and the web console, web/, are built into crm, for
# GET /api/v1/openapi.yaml, GET / and GET /assets/{name}).
COPY CMakeLists.txt ./
COPY cmake/ cmake/
COPY crm/ crm/
COPY sql/ sql/
COPY api/openapi.yaml api/
COPY web/ web/

RUN cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DCRM_TESTS=OFF \
      -DCRM_SQL_DIR_DEFAULT=/usr/local/share/crm/sql \
 && cmake --build build -j "$(nproc)" \
 && cmake --install build --prefix /usr/local --strip

# --- runtime: the binary, the SQL, the shared libraries and curl --------------
FROM debian:bookworm-slim AS runtime

RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libevent-2.1-7 libevent-pthreads-2.1-7 libpq5 libjansson4 libsodium23 libcsv3 libxlsxwriter4 \
      libcurl4 \
      curl ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 crm \
 && useradd --system --uid 10001 --gid crm --home-dir /var/lib/crm --create-home \
      --shell /usr/sbin/nologin crm

COPY --from=build /usr/local/bin/crm /usr/local/bin/crm
COPY --from=build /usr/local/share/crm /usr/local/share/crm

ENV CRM_LISTEN=0.0.0.0:8080 CRM_SQL_DIR=/usr/local/share/crm/sql

WORKDIR /var/lib/crm
USER crm
EXPOSE 8080
STOPSIGNAL SIGTERM

# Ready means the database answers and its schema is current (else 503).
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD curl -fsS -o /dev/null http://127.0.0.1:8080/readyz || exit 1

ENTRYPOINT ["crm"]
CMD ["serve"]
