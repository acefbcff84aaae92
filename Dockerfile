# Flywheel in a container: built in one stage, run from a small image as a non-root user.
#
#   docker build -t flywheel .
#   docker run -p 3000:3000 -e SLACK_BOT_TOKEN -e SLACK_SIGNING_SECRET \
#     -v flywheel-data:/var/lib/flywheel flywheel
#
# The data directory (/var/lib/flywheel) holds the SQLite store by default, and the search index
# with any store. Mount a configuration at /etc/flywheel/flywheel.toml to use one.

FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p flywheel \
    && cp target/release/flywheel /usr/local/bin/flywheel

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates tini \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --user-group --home-dir /var/lib/flywheel --create-home flywheel \
    && mkdir -p /etc/flywheel
COPY --from=build /usr/local/bin/flywheel /usr/local/bin/flywheel
USER flywheel:flywheel
ENV FLYWHEEL_DATA_DIR=/var/lib/flywheel
VOLUME ["/var/lib/flywheel"]
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 \
    CMD ["flywheel", "health", "--url", "http://127.0.0.1:3000/healthz"]
# tini forwards SIGTERM to Flywheel, which drains its work and exits 0.
ENTRYPOINT ["tini", "--", "flywheel"]
CMD ["serve", "--listen", "0.0.0.0:3000"]
