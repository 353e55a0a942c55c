# syntax=docker/dockerfile:1
# kube-oidc-proxy: built with the official Swift image, run on slim Debian with nothing but the
# binary and the CA certificates, as a non-root user.
#   docker build -t kube-oidc-proxy .
#   docker run --rm kube-oidc-proxy --version

FROM swift:6.3-bookworm AS build
WORKDIR /src
COPY . .
# The .build cache mount survives between builds on one machine, so editing a source file does
# not recompile the dependencies; the binary is copied out of it because the mount is not part
# of the image.
RUN --mount=type=cache,target=/src/.build \
    swift build -c release --static-swift-stdlib --product kube-oidc-proxy \
    && install -D -m 0755 "$(swift build -c release --static-swift-stdlib --show-bin-path)/kube-oidc-proxy" \
        /out/kube-oidc-proxy

FROM debian:bookworm-slim
# ca-certificates follows Debian's security updates, so it is not pinned to one version.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && install -d -o 65532 -g 65532 /var/lib/kube-oidc-proxy /var/run/kubernetes
COPY --from=build /out/kube-oidc-proxy /usr/local/bin/kube-oidc-proxy
# 65532 is the conventional "nonroot" uid; the Helm chart runs the pod as the same user.
USER 65532:65532
# HTTPS (--secure-port) and the plain-HTTP probes and metrics (--readiness-probe-port).
EXPOSE 6443 8080
ENTRYPOINT ["kube-oidc-proxy"]
