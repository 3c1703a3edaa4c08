# pacbench as a container image: a static binary (CGO_ENABLED=0) on scratch
# with CA certificates, run as a non-root user. The compose stack builds it
# as its pacbench service (docs/compose.md):
#   docker compose run --rm --use-aliases pacbench run --profile profiles/compose-etcd.yaml
# or alone:
#   docker build -t pacbench:local . && docker run --rm pacbench:local version
# go test ./deploy/ parses and lints this file with BuildKit's own parser
# and linter, and builds ./cmd/pacbench from exactly the files
# .dockerignore lets into the build context.

# The Go toolchain: at least go.mod's go version (checked by the test).
ARG GO_VERSION=1.26.8

FROM golang:${GO_VERSION} AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
ARG VERSION=dev
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath -buildvcs=false -ldflags="-s -w -X main.version=${VERSION}" \
        -o /out/pacbench ./cmd/pacbench
# The runtime's tree: the shipped profiles, an empty results directory
# owned by the runtime user, and a world-writable /tmp (local clusters).
RUN mkdir -p /out/work/results /out/tmp \
    && cp -R profiles /out/work/profiles \
    && chown -R 65532:65532 /out/work \
    && chmod 1777 /out/tmp

FROM scratch
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/pacbench /usr/local/bin/pacbench
COPY --from=build --chown=65532:65532 /out/work /work
COPY --from=build /out/tmp /tmp
USER 65532:65532
WORKDIR /work
EXPOSE 9464
ENTRYPOINT ["/usr/local/bin/pacbench"]
CMD ["--help"]
