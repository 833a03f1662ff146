# Builds the `ledger` binary and runs it on a slim image.
FROM rust:1.89-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin ledger

FROM debian:bookworm-slim
# librdkafka is linked statically; zlib comes from the base image.
RUN useradd --system --home /data ledger && mkdir -p /data /keys && chown ledger /data /keys
COPY --from=build /src/target/release/ledger /usr/local/bin/ledger
USER ledger
VOLUME ["/data", "/keys"]
EXPOSE 8080
ENTRYPOINT ["ledger"]
CMD ["serve", "--data", "/data", "--listen", "0.0.0.0:8080"]
