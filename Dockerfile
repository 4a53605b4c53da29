# The SIIS node as a container image: a Rust builder stage, then a small Debian runtime that
# holds the binary, its packaged configuration and nothing else. See docs/packaging.md.
#
#   docker build -t siis .
#   docker run --name siis --stop-timeout 120 \
#     -v siis-data:/var/lib/siis \
#     -v /srv/siis/tls:/etc/siis/tls:ro -v /srv/siis/convenios:/etc/siis/convenios:ro \
#     -p 8443:8443 -p 8444:8444 siis
#
# The same base release (Debian 12, bookworm) in both stages: the binary links the system
# OpenSSL (libssl3) it was built against.

FROM rust:1.95-bookworm AS builder
WORKDIR /src
# What the build reads, and no more (.dockerignore keeps target/ and var/ out of the context).
COPY Cargo.toml Cargo.lock ./
COPY .cargo .cargo
COPY derive derive
COPY src src
COPY migrations migrations
COPY data data
COPY wsdl wsdl
COPY schemas schemas
COPY conf conf
# BuildKit cache mounts keep the registry and the dependencies' builds between image builds.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin siis \
    && install -m 0755 target/release/siis /usr/local/bin/siis \
    && strip --strip-debug /usr/local/bin/siis
# (The release profile's line tables are dropped: ~150 MB to ~29 MB; function names stay.)

FROM debian:bookworm-slim
# libssl3: the only library the binary needs beyond libc (SQLite and libpq are built in).
RUN apt-get update \
    && apt-get install -y --no-install-recommends libssl3 \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 siis \
    && useradd --system --uid 10001 --gid siis --home-dir /var/lib/siis --shell /usr/sbin/nologin siis \
    && install -d -o siis -g siis -m 0700 /var/lib/siis /etc/siis/tls \
    && install -d -m 0755 /etc/siis/convenios
COPY --from=builder /usr/local/bin/siis /usr/bin/siis
COPY --chown=root:siis --chmod=0640 packaging/siis.toml /etc/siis/siis.toml
COPY conf/elegibilidad.toml /etc/siis/elegibilidad.toml
COPY conf/modelos /etc/siis/modelos
COPY conf/siis.toml /usr/share/doc/siis/examples/siis.toml
COPY convenios /usr/share/doc/siis/examples/convenios
COPY LICENSE /usr/share/doc/siis/LICENSE
# In a container the agency and public listeners face the container's network; the admin
# listener stays on loopback (the node refuses any other address), reached by HEALTHCHECK below.
ENV SIIS__LISTEN__AGENCY=0.0.0.0:8443 \
    SIIS__LISTEN__PUBLIC=0.0.0.0:8444
USER siis:siis
WORKDIR /var/lib/siis
VOLUME ["/var/lib/siis"]
EXPOSE 8443 8444
# GET /healthz on the admin listener, with the shell's /dev/tcp (the image has no HTTP client).
# The start period covers the migrations of a first start.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10m --retries=3 \
    CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/8480 && printf 'GET /healthz HTTP/1.0\\r\\n\\r\\n' >&3 && head -c 12 <&3 | grep -q ' 200'"]
ENTRYPOINT ["/usr/bin/siis", "--config", "/etc/siis/siis.toml"]
CMD ["serve"]
