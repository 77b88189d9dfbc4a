# The toolchain setup.sh builds ftinit with when the host has none that fits (no Swift 6, no
# static OpenSSL, not Linux, or not the nodes' architecture): the official Swift image, pinned,
# plus what `make ftinit` needs beyond it. swiftlang/swift-docker 6.3/debian/12/Dockerfile
# installs binutils (strip) and pkg-config but neither libssl-dev (the static libcrypto.a and
# libssl.a ftinit links), file (scripts/check-binary) nor make. Built without a context:
#   docker build --platform linux/ARCH -t ft-services-ftinit-builder:6.3.3 - <scripts/ftinit-builder.Dockerfile
# The image is multi-arch (amd64, arm64v8: docker-library/official-images library/swift).
FROM swift:6.3.3-bookworm

# Debian's bookworm packages: the pinned base image is the pin.
# hadolint ignore=DL3008
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libssl-dev file make \
    && rm -rf /var/lib/apt/lists/*
