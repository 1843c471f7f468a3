# vkpipe on Debian 12: vk-poll | vk-normalize | vk-route as one service.
#   docker build -t vkpipe .
#   docker run -d --restart always -e VK_TOKEN -e VK_GROUP_ID=218730916 \
#       -e VKPIPE_REDIS_URL=redis://redis:6379 -v vkpipe:/var/lib/vkpipe vkpipe
# The package lists live in the Makefile (BUILD_DEPS, RUN_DEPS): this file
# asks it for them, so the two never disagree. The token and the group id
# are read at run time, never baked into the image.

FROM debian:bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends make \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN apt-get update \
    && apt-get install -y --no-install-recommends $(make -s print-build-deps) \
    && make \
    && make install PREFIX=/usr/local DESTDIR=/out \
    && make -s print-run-deps > /out/run-deps

FROM debian:bookworm-slim
COPY --from=build /out/run-deps /tmp/run-deps
RUN apt-get update \
    && apt-get install -y --no-install-recommends $(cat /tmp/run-deps) \
    && rm -rf /var/lib/apt/lists/* /tmp/run-deps \
    && useradd --system --home-dir /var/lib/vkpipe --create-home vkpipe
COPY --from=build /out/usr/local /usr/local
USER vkpipe
ENV VKPIPE_STATE_DIR=/var/lib/vkpipe
VOLUME /var/lib/vkpipe
ENTRYPOINT ["vkpipe"]
