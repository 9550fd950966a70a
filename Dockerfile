# reflectd: build on Debian 12 with the same packages as `make`, run on a slim image.
FROM debian:bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends \
        gcc make pkg-config libc6-dev libevent-dev libjansson-dev libjwt-dev libpq-dev \
        libargon2-dev libqrencode-dev zlib1g-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Makefile ./
COPY scripts ./scripts
COPY service ./service
COPY migrations ./migrations
RUN make build

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends \
        libevent-2.1-7 libevent-pthreads-2.1-7 libjansson4 libjwt0 libpq5 libargon2-1 libqrencode4 \
        zlib1g \
        curl ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --no-create-home reflectd
COPY --from=build /src/bin/reflectd /usr/local/bin/reflectd
USER reflectd
ENV LISTEN_ADDR=0.0.0.0:8080
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --retries=3 CMD curl -fsS http://127.0.0.1:8080/healthz || exit 1
ENTRYPOINT ["/usr/local/bin/reflectd"]
