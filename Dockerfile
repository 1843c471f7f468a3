# vkpipe on Debian 12. The package lists live in the Makefile (make deps,
# RUN_DEPS); this file only uses them.
FROM debian:bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends make \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN apt-get update && sh tests/deps.sh $(make -s print-build-deps) \
    && make && make install PREFIX=/usr/local DESTDIR=/out

FROM debian:bookworm-slim
COPY --from=build /src/Makefile /tmp/Makefile
RUN apt-get update && apt-get install -y --no-install-recommends make \
    && apt-get install -y --no-install-recommends $(make -s -f /tmp/Makefile print-run-deps) \
    && apt-get purge -y make && rm -rf /var/lib/apt/lists/* /tmp/Makefile \
    && useradd --system --home /var/lib/vkpipe --create-home vkpipe
COPY --from=build /out/usr/local /usr/local
USER vkpipe
VOLUME /var/lib/vkpipe
# The VK token comes at run time (VK_TOKEN or a mounted --token-file),
# never at build time.
ENTRYPOINT ["vk-normalize"]
