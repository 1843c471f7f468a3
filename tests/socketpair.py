#!/usr/bin/env python3
"""socketpair.py OUT CMD [ARG...] - run CMD with its standard output one end
of a Unix socketpair (as systemd's journal gives a service), copy what
comes out of the other end to the file OUT, and exit with CMD's status."""
import socket
import subprocess
import sys


def main(argv):
    out, cmd = argv[1], argv[2:]
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    child = subprocess.Popen(cmd, stdout=theirs.fileno())
    theirs.close()
    with open(out, "wb") as f:
        while True:
            data = ours.recv(65536)
            if not data:
                break
            f.write(data)
            f.flush()
    return child.wait()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
