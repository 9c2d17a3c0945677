# syntax=docker/dockerfile:1
#
# lockgate in a container: a static binary (CGO_ENABLED=0; SQLite is
# modernc's pure Go) on distroless, as a non-root user, data in /data.
#
#   docker build -t lockgate \
#     --build-arg VERSION="$(git describe --tags --always --dirty)" \
#     --build-arg COMMIT="$(git rev-parse HEAD)" \
#     --build-arg DATE="$(date -u +%Y-%m-%dT%H:%M:%SZ)" .
#   docker run -p 8080:8080 -v lockgate-data:/data \
#     -e LOCKGATE_PUBLIC_URL=https://lock.example.com lockgate
#
# The first start prints the admin token once (docker logs); set
# LOCKGATE_ADMIN_TOKEN and LOCKGATE_MASTER_KEY (or mount the data volume
# you back up) to choose them. Tested without an engine by
# cmd/lockgate/packaging_test.go.

ARG GO_VERSION=1.26

# The build runs on the builder's own platform and cross-compiles, so a
# multi-platform build (--platform linux/amd64,linux/arm64) needs no
# emulation.
FROM --platform=$BUILDPLATFORM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
ARG VERSION=dev
ARG COMMIT=""
ARG DATE=""
# Set by BuildKit from --platform; empty means the builder's own.
ARG TARGETOS
ARG TARGETARCH
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS="$TARGETOS" GOARCH="$TARGETARCH" \
    go build -trimpath -buildvcs=false \
      -ldflags "-s -w -X main.version=$VERSION -X main.commit=$COMMIT -X main.date=$DATE" \
      -o /out/lockgate ./cmd/lockgate && \
    mkdir -p /out/data

# distroless/static: CA certificates, tzdata, /etc/passwd with the
# nonroot user (65532), no shell, no package manager.
FROM gcr.io/distroless/static-debian12:nonroot AS runtime
COPY --from=build /out/lockgate /usr/local/bin/lockgate
COPY --from=build --chown=65532:65532 /out/data /data
USER 65532:65532
ENV LOCKGATE_LISTEN=0.0.0.0:8080 \
    LOCKGATE_DATA_DIR=/data \
    LOCKGATE_LOG_FORMAT=json
VOLUME ["/data"]
EXPOSE 8080
# No shell or curl here: the binary asks its own /readyz.
HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 \
    CMD ["/usr/local/bin/lockgate", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/lockgate"]
CMD ["serve"]
