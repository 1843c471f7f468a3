#!/usr/bin/env python3
"""notify.py SOCKET OUT - systemd's side of sd_notify(3), for tests.

Binds a Unix datagram socket at SOCKET (what NOTIFY_SOCKET names) and
appends each message to OUT, one line per assignment, prefixed with the
monotonic time of its arrival in seconds: "12.345 READY=1". OUT is
flushed after each message. Runs until killed.
"""
import os
import socket
import sys
import time

sock_path, out_path = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sock_path)
with open(out_path, "a", encoding="utf-8", errors="replace") as out:
    out.write("%.3f LISTENING\n" % time.monotonic())
    out.flush()
    while True:
        data = s.recv(65536)
        now = time.monotonic()
        for line in data.decode("utf-8", "replace").split("\n"):
            if line:
                out.write("%.3f %s\n" % (now, line))
        out.flush()
