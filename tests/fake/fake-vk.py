#!/usr/bin/env python3
"""fake-vk.py - a scriptable fake of the VK API and its Bots Long Poll server.

usage: fake-vk.py SCENARIO.json [--port-file FILE] [--log FILE]

Listens on 127.0.0.1, port 0 (the kernel picks one); the port is written to
--port-file (atomically: tests wait for the file) and to stdout.

  POST /method/NAME        VK API methods, dispatched through METHODS below
                           (form-encoded; access_token and v in the body)
  GET  /lp/wh<group>?...   the long-poll server (act=a_check&key&ts&wait)
  POST /upload/<type>      an upload server (fake_vk_upload.py)

The scenario (JSON object; every key optional):
  token        the access_token accepted ("test-token"); any other -> error 5
  group_id     the community accepted (42); any other -> error 100
  updates      list of update objects, served in order
  updates_raw  list of strings: updates as raw JSON text, served verbatim
  updates_file NDJSON file of updates, each line served verbatim
  batch        most updates per poll reply (3)
  start_ts     ts that getLongPollServer gives first (100); update k has ts start_ts+k
  ts_number    true: a_check replies carry ts as a number, not a string
  pretty       true: poll replies are indented (white space outside strings)
  idle         seconds an idle poll is held, at most its wait (default: wait)
  latency      seconds every poll reply is delayed (0)
  settings     the groups.getLongPollSettings response
  cycle        true: serve the updates round and round, forever (benchmarks)
  any_key      true: the long-poll server takes any key (benchmarks with curl)
  api_rate     at most this many API requests (POST /method/...) in any
               sliding second; more get error 6, "Too many requests per
               second", as VK answers (default: no limit)
  api_latency  seconds every API request takes before its answer (0)
  faults       list of {"on": ENDPOINT, "nth": N, "do": KIND, ...}: the Nth
               request to ENDPOINT ("a_check" or a method name) gets KIND
               (a method called inside execute counts too: fake_vk_exec.py):
      failed1 [skip]   {"failed":1,"ts":<ts+skip, a number>}
      failed2          the key is revoked; {"failed":2}
      failed3 [skip]   key revoked, next getLongPollServer ts = ts+skip; {"failed":3}
      failed9          {"failed":9} (a code VK does not document)
      http500, http404 that HTTP status
      drop             the connection is closed with no reply
      truncate         a reply cut short of its Content-Length
      garbage          HTTP 200 with a body that is not JSON
      empty            HTTP 200 {} (neither ts nor failed)
      slow [delay]     wait delay seconds (1), then answer normally
      api_error code [msg] [echo_token] [captcha]   {"error":{...}}; echo_token
                       puts the received token into error_msg (to test masking);
                       captcha adds captcha_sid and captcha_img (error 14)

Every request is logged to --log as one JSON line: n, t, endpoint, path,
query, form (the token as received), fault, and for execute, calls (the
methods it ran, in order) and call_params (their parameters, as the
methods read them); execute is one request, one line. The log is opened for appending,
so a test may truncate it between runs.

When the scenario file changes, the next request loads it and starts afresh (keys, counters, faults), so one server can serve
a whole test file: write the new scenario to a temporary name and rename it.
"""
import collections
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


def first(qs):
    return {k: v[0] for k, v in qs.items()}


class State:
    def __init__(self, sc):
        self.sc = sc
        self.lock = threading.Lock()
        self.token = sc.get("token", "test-token")
        self.group = str(sc.get("group_id", 42))
        self.batch = int(sc.get("batch", 3))
        self.start = int(sc.get("start_ts", 100))
        self.raw = self.load_updates(sc)
        self.key_no = 0
        self.key = None
        self.init_ts = self.start
        self.counts = {}
        self.seq = 0
        self.faults = {}
        for f in sc.get("faults", []):
            self.faults[(f["on"], int(f["nth"]))] = f
        self.api_rate = int(sc.get("api_rate", 0))
        self.api_latency = float(sc.get("api_latency", 0))
        self.api_times = collections.deque()
        self.pre = None
        if sc.get("cycle"):
            self.pre = [",".join(self.raw[i:i + self.batch]).encode()
                        for i in range(0, len(self.raw), self.batch)]

    @staticmethod
    def load_updates(sc):
        raw = [json.dumps(u, ensure_ascii=False, separators=(",", ":"))
               for u in sc.get("updates", [])]
        raw += sc.get("updates_raw", [])
        if "updates_file" in sc:
            with open(sc["updates_file"], encoding="utf-8") as f:
                raw += [ln.rstrip("\n") for ln in f if ln.strip()]
        return raw

    def new_key(self):
        self.key_no += 1
        self.key = "key%d/+&=%d" % (self.key_no, self.key_no)  # needs URL-encoding
        return self.key

    def count(self, endpoint):
        """Count a request; return (n, fault or None)."""
        with self.lock:
            n = self.counts.get(endpoint, 0) + 1
            self.counts[endpoint] = n
            self.seq += 1
            return self.seq, self.faults.get((endpoint, n))

    def inner_fault(self, method):
        """Count a call made inside execute; its fault or None."""
        with self.lock:
            n = self.counts.get(method, 0) + 1
            self.counts[method] = n
            return self.faults.get((method, n))

    def over_rate(self, now):
        """Note an API request; True if it is over api_rate in the last second."""
        if not self.api_rate:
            return False
        with self.lock:
            while self.api_times and self.api_times[0] <= now - 1.0:
                self.api_times.popleft()
            if len(self.api_times) >= self.api_rate:
                return True
            self.api_times.append(now)
            return False


def captcha_fields(f):
    """The fields VK adds to error 14, for a fault that asks for them."""
    if not f.get("captcha"):
        return {}
    return {"captcha_sid": str(f.get("captcha_sid", "548230372614")),
            "captcha_img": "https://api.vk.com/captcha.php?sid=%s&s=1" % f.get(
                "captcha_sid", "548230372614")}


class Server(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver's default backlog of 5 drops the SYNs of a client opening
    # more connections at once (vk-call's 8 in flight), which then wait out
    # TCP's 1 s retransmission: a delay no real API server adds
    request_queue_size = 128

    def __init__(self, scenario_path, log):
        super().__init__(("127.0.0.1", 0), Handler)
        self.scenario_path = scenario_path
        self.log = log
        self.text = None
        self.st = None
        self.reload_lock = threading.Lock()

    @property
    def state(self):
        with open(self.scenario_path, "rb") as f:
            text = f.read()
        with self.reload_lock:
            if text != self.text:
                self.st = State(json.loads(text))
                self.text = text
            return self.st


class Handler(BaseHTTPRequestHandler):
    captcha_fields = staticmethod(captcha_fields)  # for fake_vk_exec
    protocol_version = "HTTP/1.1"
    server_version = "fake-vk/1"

    def log_message(self, fmt, *args):
        pass

    # -- plumbing --------------------------------------------------------
    def reply(self, status, body, ctype="application/json; charset=utf-8"):
        if isinstance(body, str):
            body = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def reply_json(self, obj):
        self.reply(200, json.dumps(obj, ensure_ascii=False))

    def record(self, seq, endpoint, query, form, fault, calls=None):
        """calls: for execute, [(method, params)] as fake_vk_exec.parse reads them."""
        log = self.server.log
        if log is None:
            return
        rec = {"n": seq, "t": time.time(), "endpoint": endpoint,
               "path": self.path, "query": query, "form": form,
               "fault": fault and fault["do"]}
        if calls is not None:
            rec["calls"] = [m for m, _ in calls]
            rec["call_params"] = [fake_vk_exec.to_form(p) for _, p in calls]
        line = json.dumps(rec, ensure_ascii=False)
        with self.server.reload_lock:
            log.write(line + "\n")
            log.flush()

    def common_fault(self, f):
        """Faults every endpoint knows. True if the request was answered."""
        kind = f["do"]
        if kind == "slow":
            time.sleep(float(f.get("delay", 1)))
            return False
        if kind.startswith("http"):
            self.reply(int(kind[4:]), "<html><body>error %s</body></html>" % kind[4:],
                       "text/html")
        elif kind == "drop":
            self.close_connection = True
        elif kind == "truncate":
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self.wfile.write(b'{"ts":"1","updates":[{"type":')
            self.close_connection = True
        elif kind == "garbage":
            self.reply(200, "<html>\x00\xff not json {{{", "text/html")
        elif kind == "empty":
            self.reply_json({})
        elif kind == "api_error":
            msg = f.get("msg", "fake error")
            if f.get("echo_token"):
                msg += " (token " + self.form.get("access_token", "") + ")"
            err = {"error_code": int(f["code"]), "error_msg": msg,
                   "request_params": [{"key": "method", "value": self.method}]}
            err.update(captcha_fields(f))
            self.reply_json({"error": err})
        else:
            return False
        return True

    # -- the API ---------------------------------------------------------
    def log_rec(self, rec):
        log = self.server.log
        if log is not None:
            with self.server.reload_lock:
                log.write(json.dumps(rec, ensure_ascii=False) + "\n")
                log.flush()

    def do_POST(self):
        st = self.server.state
        if self.path.startswith("/upload/"):
            self.form = {}
            return fake_vk_upload.handle(self, st)
        n = int(self.headers.get("Content-Length") or 0)
        self.form = first(parse_qs(self.rfile.read(n).decode(), keep_blank_values=True))
        self.method = self.path.split("?")[0].rsplit("/", 1)[-1]
        query = first(parse_qs(urlsplit(self.path).query, keep_blank_values=True))
        seq, f = st.count(self.method)
        limited = st.over_rate(time.time())
        calls = None
        if self.method == "execute":
            try:
                calls = fake_vk_exec.parse(self.form.get("code", ""))[0]
            except fake_vk_exec.CompileError:
                calls = []
        self.record(seq, self.method, query, self.form,
                    f or (limited and {"do": "rate_limited"}), calls)
        if st.api_latency:
            time.sleep(st.api_latency)
        if limited:
            return self.reply_json({"error": {"error_code": 6,
                                              "error_msg": "Too many requests per second"}})
        if f and self.common_fault(f):
            return
        fn = METHODS.get(self.method)
        if fn is None:
            return self.reply_json({"error": {"error_code": 3,
                                              "error_msg": "Unknown method passed"}})
        if self.form.get("access_token") != st.token:
            return self.reply_json({"error": {
                "error_code": 5,
                "error_msg": "User authorization failed: invalid access_token (4)."}})
        if "v" not in self.form:
            return self.reply_json({"error": {"error_code": 8,
                                              "error_msg": "Invalid request: v is required"}})
        try:
            body = fn(self, st, self.form)
        except fake_vk_exec.Abort as e:
            if not self.common_fault(e.fault):
                self.reply(500, "fault %s inside execute" % e.fault["do"], "text/plain")
            return
        self.reply_json(body)

    # -- the long-poll server --------------------------------------------
    def do_GET(self):
        st = self.server.state
        u = urlsplit(self.path)
        q = first(parse_qs(u.query, keep_blank_values=True))
        seq, f = st.count("a_check")
        self.form = {}
        self.method = "a_check"
        self.record(seq, "a_check", q, {}, f)
        if not u.path.startswith("/lp/") or q.get("act") != "a_check":
            return self.reply(404, "not found", "text/plain")
        try:
            ts = int(q.get("ts", ""))
            wait = int(q.get("wait", "25"))
        except ValueError:
            return self.reply_json({"failed": 1, "ts": st.init_ts})
        if st.sc.get("latency"):
            time.sleep(float(st.sc["latency"]))
        if f and self.common_fault(f):
            return
        kind = f and f["do"]
        if kind == "failed1":
            return self.reply_json({"failed": 1, "ts": ts + int(f.get("skip", 0))})
        if kind == "failed9":
            return self.reply_json({"failed": 9})
        with st.lock:
            if kind == "failed2":
                st.key = None
            elif kind == "failed3":
                st.key = None
                st.init_ts = ts + int(f.get("skip", 0))
            key_ok = q.get("key") == st.key or bool(st.sc.get("any_key"))
        if kind in ("failed2", "failed3"):
            return self.reply_json({"failed": int(kind[-1])})
        if not key_ok:
            return self.reply_json({"failed": 2})
        if st.pre is not None:
            return self.cycle(st, ts)
        i = ts - st.start
        if i < 0:
            return self.reply_json({"failed": 1, "ts": st.start})
        got = st.raw[i:i + st.batch]
        if not got:
            hold = min(float(st.sc.get("idle", wait)), wait)
            time.sleep(hold)
        self.batch_reply(st, ts + len(got), got)

    def batch_reply(self, st, ts, got):
        tsv = str(ts) if not st.sc.get("ts_number") else ts
        if st.sc.get("pretty"):
            body = '{\n  "ts" : %s,\n  "updates" : [\n    %s\n  ]\n}\n' % (
                json.dumps(tsv), ",\n    ".join(got))
        else:
            body = '{"ts":%s,"updates":[%s]}' % (json.dumps(tsv), ",".join(got))
        self.reply(200, body)

    def cycle(self, st, ts):
        k = (ts - st.start) // st.batch % len(st.pre)
        body = st.pre[k]
        nxt = ts + min(st.batch, len(st.raw) - k * st.batch)
        self.reply(200, b'{"ts":"%d","updates":[%s]}' % (nxt, body))


# -- API methods: name -> fn(handler, state, form) -> reply object -----------
def m_get_long_poll_server(h, st, form):
    if form.get("group_id") != st.group:
        return {"error": {"error_code": 100,
                          "error_msg": "One of the parameters specified was missing "
                                       "or invalid: group_id is undefined"}}
    port = h.server.server_address[1]
    with st.lock:
        key = st.new_key()
        ts = st.init_ts
    return {"response": {"key": key, "server": "http://127.0.0.1:%d/lp/wh%s" % (port, st.group),
                         "ts": str(ts)}}


def m_get_long_poll_settings(h, st, form):
    default = {"is_enabled": True, "api_version": "5.199",
               "events": {"message_new": 1, "message_event": 1,
                          "message_reaction_event": 1, "message_reply": 0}}
    return {"response": st.sc.get("settings", default)}


METHODS = {
    "groups.getLongPollServer": m_get_long_poll_server,
    "groups.getLongPollSettings": m_get_long_poll_settings,
}


# users.get, groups.getById, messages.getConversationsById: vk-normalize's names
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fake_vk_names  # noqa: E402
import fake_vk_exec  # noqa: E402
import fake_vk_messages  # noqa: E402
import fake_vk_callback  # noqa: E402
import fake_vk_upload  # noqa: E402
METHODS.update(fake_vk_names.METHODS)
METHODS.update(fake_vk_messages.METHODS)
# photos/docs upload servers and saving: vk-call's uploads (and POST /upload/)
METHODS.update(fake_vk_upload.METHODS)
# groups.*Callback*: vk-callback --setup
METHODS.update(fake_vk_callback.METHODS)
# execute dispatches to METHODS as it is at call time: methods added later work inside it
METHODS["execute"] = lambda h, st, form: fake_vk_exec.run(h, st, form, METHODS)


def main(argv):
    args = {"--port-file": None, "--log": None}
    scen = None
    it = iter(argv[1:])
    for a in it:
        if a in args:
            args[a] = next(it)
        elif scen is None:
            scen = a
        else:
            sys.exit("usage: fake-vk.py SCENARIO [--port-file FILE] [--log FILE]")
    if scen is None:
        sys.exit("usage: fake-vk.py SCENARIO [--port-file FILE] [--log FILE]")
    log = open(args["--log"], "a", encoding="utf-8") if args["--log"] else None
    srv = Server(scen, log)
    srv.state  # load it now: a bad scenario fails at start
    port = srv.server_address[1]
    if args["--port-file"]:
        tmp = args["--port-file"] + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.rename(tmp, args["--port-file"])
    print(port, flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main(sys.argv)
