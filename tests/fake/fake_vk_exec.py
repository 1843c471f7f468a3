"""fake_vk_exec.py - the `execute` method of the fake VK API (tests/fake/fake-vk.py).

VK's execute runs a VKScript program; the fake understands the subset that
batches calls:

    return [API.users.get({"user_ids":"1,2","fields":"domain"}), API.groups.getById({...})];
    return API.users.get({user_ids: "1"});

Keys are JSON strings or bare names; values are JSON strings, numbers,
true/false/null, or arrays and objects of those (an array becomes a
comma-separated list, as VK takes lists). Each call is dispatched to the
fake's own handler for that method (whatever fake-vk.py's METHODS holds at
the time, so methods added later work inside execute too). As VK does, an
inner call that fails gives `false` in `response`, and its error is appended
to `execute_errors` ({"method","error_code","error_msg"}, in call order).
Scenario faults of kind api_error on an inner method ("on": "users.get")
apply inside execute too, counted per method; any other fault kind on an
inner call (http500, drop, ...) hits the whole execute request. A program
outside the subset is error 12, like VK's "Unable to compile code". The
execute request is one request: one log line (with "calls": the inner
methods), one slot of the rate limit.
"""
import json
import re
import time

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_METHOD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)+")
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?")
_DECODER = json.JSONDecoder()


class CompileError(Exception):
    pass


class _Parser:
    def __init__(self, s):
        self.s = s
        self.i = 0

    def ws(self):
        while self.i < len(self.s) and self.s[self.i] in " \t\r\n":
            self.i += 1

    def peek(self):
        self.ws()
        return self.s[self.i] if self.i < len(self.s) else ""

    def expect(self, c):
        if self.peek() != c:
            raise CompileError("expected %r at %d" % (c, self.i))
        self.i += 1

    def word(self, rx):
        self.ws()
        m = rx.match(self.s, self.i)
        if not m:
            raise CompileError("expected a name at %d" % self.i)
        self.i = m.end()
        return m.group(0)

    def string(self):
        self.ws()
        try:
            v, end = _DECODER.raw_decode(self.s, self.i)
        except ValueError:
            raise CompileError("bad string at %d" % self.i)
        if not isinstance(v, str):
            raise CompileError("expected a string at %d" % self.i)
        self.i = end
        return v

    def value(self):
        c = self.peek()
        if c == '"':
            return self.string()
        if c == "{":
            return self.obj()
        if c == "[":
            self.i += 1
            out = []
            if self.peek() != "]":
                out.append(self.value())
                while self.peek() == ",":
                    self.i += 1
                    out.append(self.value())
            self.expect("]")
            return out
        for lit, v in (("true", True), ("false", False), ("null", None)):
            if self.s.startswith(lit, self.i):
                self.i += len(lit)
                return v
        m = _NUMBER.match(self.s, self.i)
        if not m:
            raise CompileError("bad value at %d" % self.i)
        self.i = m.end()
        return json.loads(m.group(0))

    def obj(self):
        self.expect("{")
        out = {}
        if self.peek() != "}":
            while True:
                k = self.string() if self.peek() == '"' else self.word(_NAME)
                self.expect(":")
                out[k] = self.value()
                if self.peek() != ",":
                    break
                self.i += 1
        self.expect("}")
        return out

    def call(self):
        if self.word(_NAME) != "API":
            raise CompileError("expected API. at %d" % self.i)
        self.expect(".")
        method = self.word(_METHOD)
        self.expect("(")
        params = self.obj() if self.peek() == "{" else {}
        self.expect(")")
        return method, params

    def program(self):
        if self.word(_NAME) != "return":
            raise CompileError("expected return")
        if self.peek() == "[":
            self.i += 1
            calls = [self.call()]
            while self.peek() == ",":
                self.i += 1
                calls.append(self.call())
            self.expect("]")
            many = True
        else:
            calls = [self.call()]
            many = False
        if self.peek() == ";":
            self.i += 1
        if self.peek() != "":
            raise CompileError("unexpected text at %d" % self.i)
        return calls, many


def parse(code):
    """[(method, params)], and whether the program returns an array."""
    return _Parser(code).program()


def _form_value(v):
    if isinstance(v, bool):
        return "1" if v else "0"
    if v is None:
        return ""
    if isinstance(v, (list, tuple)):
        return ",".join(_form_value(x) for x in v)
    if isinstance(v, dict):
        return json.dumps(v, ensure_ascii=False)
    return str(v)


def to_form(params):
    """VKScript params as the form strings a method handler reads."""
    return {k: _form_value(v) for k, v in params.items()}


class Abort(Exception):
    """A fault that is not an API error hit an inner call: it takes the whole request."""
    def __init__(self, fault):
        self.fault = fault


def run(h, st, form, methods):
    """The execute reply for form["code"]; raises Abort for a transport fault."""
    try:
        calls, many = parse(form.get("code", ""))
    except CompileError as e:
        return {"error": {"error_code": 12,
                          "error_msg": "Unable to compile code: %s" % e}}
    h.calls = [m for m, _ in calls]
    results, errors = [], []
    for method, params in calls:
        f = st.inner_fault(method)
        if f is not None and f["do"] == "slow":
            time.sleep(float(f.get("delay", 1)))
        elif f is not None and f["do"] == "api_error":
            r = {"error": {"error_code": int(f["code"]),
                           "error_msg": f.get("msg", "fake error")}}
            r["error"].update(h.captcha_fields(f))
        elif f is not None:
            raise Abort(f)
        if f is None or f["do"] == "slow":
            fn = methods.get(method)
            if fn is None or method == "execute":
                r = {"error": {"error_code": 3, "error_msg": "Unknown method passed"}}
            else:
                r = fn(h, st, to_form(params))
        if "error" in r:
            results.append(False)
            ent = {"method": method, "error_code": r["error"]["error_code"],
                   "error_msg": r["error"]["error_msg"]}
            # a captcha's sid and image, as a direct call would carry them
            ent.update({k: v for k, v in r["error"].items()
                        if k in ("captcha_sid", "captcha_img")})
            errors.append(ent)
        else:
            results.append(r["response"])
    out = {"response": results if many else results[0]}
    if errors:
        out["execute_errors"] = errors
    return out
