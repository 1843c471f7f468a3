#!/usr/bin/env python3
"""names-latency.py VK-NORMALIZE API-LOG [RATE] [SECONDS] - cold-cache name latency.

Feeds vk-normalize (VK_API_URL and VK_TOKEN from the environment) RATE updates
a second for SECONDS, every one from a person it has never seen (one in ten a
community), half of them in group chats it has never seen either, and times
each update from the moment it is written to the moment its Event is read.
Then reads the fake VK's request log (API-LOG) for the most requests that
reached it in any one-second window. Prints one summary line.
"""
import json
import subprocess
import sys
import threading
import time


def main(argv):
    prog, log = argv[1], argv[2]
    rate = float(argv[3]) if len(argv) > 3 else 50
    secs = float(argv[4]) if len(argv) > 4 else 20
    n = int(rate * secs)
    lines = []
    for i in range(n):
        uid = 300000000 + i
        if i % 10 == 9:
            uid = -(700000 + i)	# a community writing
        peer = 2000000000 + 1000 + i // 2 if i % 2 else (uid if uid > 0 else 2000000000 + 5000 + i)
        lines.append(json.dumps({"type": "message_new", "event_id": "L%d" % i, "group_id": 42,
                                 "object": {"message": {"from_id": uid, "peer_id": peer,
                                                        "conversation_message_id": i,
                                                        "date": 1700000000 + i,
                                                        "text": "привет"}}},
                                ensure_ascii=False) + "\n")
    p = subprocess.Popen([prog], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL)
    wrote = [0.0] * n
    got = {}
    named = [0]

    def reader():
        for raw in p.stdout:
            t = time.monotonic()
            ev = json.loads(raw)
            got[ev["event_id"]] = t
            if ev["user"]["name"] is not None and ev["peer"]["name"] is not None:
                named[0] += 1

    th = threading.Thread(target=reader)
    th.start()
    t0 = time.monotonic()
    for i, ln in enumerate(lines):
        d = t0 + i / rate - time.monotonic()
        if d > 0:
            time.sleep(d)
        wrote[i] = time.monotonic()
        p.stdin.write(ln.encode())
        p.stdin.flush()
    p.stdin.close()
    th.join()
    p.wait()
    lat = sorted((got["L%d" % i] - wrote[i]) * 1000 for i in range(n) if "L%d" % i in got)
    pct = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] if lat else float("nan")
    ts = []
    with open(log, encoding="utf-8") as f:
        for ln in f:
            r = json.loads(ln)
            ts.append(r["t"])
    ts.sort()
    most, j = 0, 0
    for i in range(len(ts)):
        while ts[i] - ts[j] >= 1.0:
            j += 1
        most = max(most, i - j + 1)
    print("cold cache, %g new people/s for %g s: latency p50 %.0f ms, p99 %.0f ms, max %.0f ms; "
          "%d/%d events, %d with names; %d requests, at most %d in any second"
          % (rate, secs, pct(0.5), pct(0.99), lat[-1] if lat else float("nan"),
             len(lat), n, named[0], len(ts), most))


if __name__ == "__main__":
    main(sys.argv)
