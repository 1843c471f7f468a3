# vkpipe on Debian 12: vk-poll | vk-normalize | vk-route as one service.
#   docker build -t vkpipe .
#   docker run -d --restart always -e VK_TOKEN -e VK_GROUP_ID=218730916 \
#       -e VKPIPE_REDIS_URL=redis://redis:6379 -v vkpipe:/var/lib/vkpipe vkpipe
# The package lists live in the Makefile (BUILD_DEPS, RUN_DEPS, IMAGE_DEPS):
# this file asks it for them, so the two never disagree. The token and the
# group id are read at run time, never baked into the image. What the build
# sees is the source only (.dockerignore: no host binaries, no .git).

FROM debian:bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends make \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN apt-get update \
    && apt-get install -y --no-install-recommends $(make -s print-build-deps) \
    && make \
    && make install PREFIX=/usr/local DESTDIR=/out \
    && make -s print-run-deps print-image-deps > /out/run-deps

FROM debian:bookworm-slim
COPY --from=build /out/run-deps /tmp/run-deps
RUN apt-get update \
    && apt-get install -y --no-install-recommends $(cat /tmp/run-deps) \
    && rm -rf /var/lib/apt/lists/* /tmp/run-deps \
    && useradd --system --home-dir /var/lib/vkpipe --create-home vkpipe
COPY --from=build /out/usr/local /usr/local
USER vkpipe
ENV VKPIPE_STATE_DIR=/var/lib/vkpipe
# relative file: destinations land in the volume
WORKDIR /var/lib/vkpipe
VOLUME /var/lib/vkpipe
# Healthy while the source turns: vk-poll touches its state file after every
# long poll that returned, an empty one included (at most --wait, 25 s, apart),
# acknowledged or not; vk-callback touches vk-callback.alive as its loop turns
# (every second). Five minutes without means it is stuck, or VK has been
# unreachable for that long; a quiet community stays healthy.
HEALTHCHECK --interval=60s --timeout=10s --start-period=60s --retries=3 \
    CMD find "$VKPIPE_STATE_DIR/vk-poll.ts" "$VKPIPE_STATE_DIR/vk-callback.alive" -mmin -5 2>/dev/null | grep -q .
# PID 1 is tini: it passes SIGTERM, SIGHUP, SIGUSR1 on to vkpipe (which stops
# vk-poll first and lets the rest drain; reloads; reports) and reaps orphans.
ENTRYPOINT ["/usr/bin/tini", "--", "vkpipe"]
