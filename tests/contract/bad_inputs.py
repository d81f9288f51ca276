#!/usr/bin/env python3
"""Bad input across every route, generated from api/openapi.yaml.

For every operation of the contract this derives, from its declared path and
query parameters and its request body schema, inputs that break the schema
(one fault each, on an otherwise valid request), sends each to a running crm
with the token of a role allowed on the route, and checks the answer:

  - never 2xx, never 5xx: one of the case's expected 4xx statuses
    (400, 404, 409, 412, 413, 415, 422, 428 as fitting);
  - application/problem+json whose `status` is the HTTP status and whose
    `request_id` is the request's X-Request-Id;
  - a 422 has `errors` naming fields, among them the member at fault.

Whether anything changed in the database is the caller's business
(tests/api/bad_input.bats fingerprints it before and after).

Usage:
  bad_inputs.py list  OPENAPI            the cases, one JSON object a line
  bad_inputs.py run   OPENAPI CONTEXT    send them; CONTEXT is a JSON file:
      {"url": "http://127.0.0.1:PORT",
       "tokens": {"admin": "...", "bureau": "...", ...},
       "ids": {"users": 12, "units": 5, "investors": 3, ...},   # a record per collection
       "values": {"unit_id": 5, "project_id": 7, ...},           # valid ids for body members
       "passwords": {"admin": "..."},                            # the callers' own
       "known": ["POST /api/v1/x | case name", ...],             # known product bugs
       "skip": ["POST /api/v1/y | case name", ...]}              # known bugs that write
  Prints "operations N cases M" and one line per failure (and per known bug
  seen); exits 1 when a case not in "known" failed. A case in "skip" is not
  sent at all (the server would change data; the run must change nothing).

Deterministic: no randomness; every case of every operation is sent.
"""
import copy
import http.client
import json
import re
import sys
import urllib.parse

import yaml

METHODS = ("get", "put", "post", "patch", "delete")
# Operations left out on purpose: logout would end the run's own session and
# has nothing to make bad (no parameter, no body).
SKIP = {("POST", "/api/v1/auth/logout")}
# The role used for a route: the first of these the route allows.
ROLE_PREFERENCE = ("admin", "bureau", "viewer", "leader", "unit")
INT64_MAX = 9223372036854775807
OK_ERRORS = {400, 404, 409, 412, 413, 415, 422, 428}


# --- the contract ----------------------------------------------------------

class Contract:
    def __init__(self, path):
        with open(path, encoding="utf-8") as f:
            self.doc = yaml.safe_load(f)

    def ref(self, node):
        while isinstance(node, dict) and "$ref" in node:
            target = self.doc
            for part in node["$ref"].lstrip("#/").split("/"):
                target = target[part.replace("~1", "/").replace("~0", "~")]
            node = target
        return node

    def schema(self, node):
        """node with $refs resolved and allOf merged (recursively)."""
        node = self.ref(node)
        if isinstance(node, list):
            return [self.schema(n) for n in node]
        if not isinstance(node, dict):
            return node
        out = {}
        for part in node.get("allOf", []):
            for k, v in self.schema(part).items():
                if k == "properties":
                    out.setdefault("properties", {}).update(v)
                elif k == "required":
                    out["required"] = sorted(set(out.get("required", [])) | set(v))
                else:
                    out[k] = v
        for k, v in node.items():
            if k == "allOf":
                continue
            if k == "properties":
                props = out.setdefault("properties", {})
                for name, sub in v.items():
                    props[name] = self.schema(sub)
            elif k in ("items", "additionalProperties", "propertyNames") and isinstance(v, dict):
                out[k] = self.schema(v)
            elif k in ("oneOf", "anyOf"):
                out[k] = [self.schema(s) for s in v]
            else:
                out[k] = v
        return out

    def operations(self):
        for path, item in self.doc.get("paths", {}).items():
            item = self.ref(item)
            for method in METHODS:
                op = item.get(method)
                if op is None:
                    continue
                params = {}
                for p in item.get("parameters", []) + op.get("parameters", []):
                    p = self.ref(p)
                    params[(p["in"], p["name"])] = dict(p, schema=self.schema(p.get("schema", {})))
                body = None
                rb = op.get("requestBody")
                if rb:
                    rb = self.ref(rb)
                    content = rb.get("content", {})
                    ctype = next(iter(content), None)
                    body = {"type": ctype, "required": rb.get("required", False),
                            "schema": self.schema(content[ctype].get("schema", {})) if ctype else {}}
                roles = roles_of(op.get("description", ""))
                public = op.get("security") == []
                yield {"method": method.upper(), "path": path, "params": list(params.values()),
                       "body": body, "roles": roles, "public": public}


def roles_of(description):
    m = re.search(r"\*\*Roles:\*\*([^\n]*)", description)
    return re.findall(r"`([a-z]+)`", m.group(1)) if m else []


def types_of(s):
    t = s.get("type")
    if isinstance(t, list):
        return [x for x in t if x != "null"]
    if t:
        return [t]
    if "enum" in s:
        return ["string"]
    if "properties" in s:
        return ["object"]
    return []


def main_type(s):
    ts = types_of(s)
    return ts[0] if ts else None


def nullable(s):
    t = s.get("type")
    return isinstance(t, list) and "null" in t


# --- valid values ------------------------------------------------------------

PATTERN_SAMPLES = {
    "^[a-z0-9][a-z0-9_.-]{2,63}$": "badinput.sample",
    "^[a-z0-9][a-z0-9_.-]{0,63}$": "badinput.sample",
    "^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$": "BI-SAMPLE-1",
    "^[0-9+() -]{0,32}$": "0359-1234567",
    "^([0-9A-HJ-NPQRTUWXY]{18})?$": "",
}
# Values breaking each pattern (and nothing else: short, no NUL).
PATTERN_BREAKERS = {
    "^[a-z0-9][a-z0-9_.-]{2,63}$": "Bad Name!",
    "^[a-z0-9][a-z0-9_.-]{0,63}$": "Bad Code!",
    "^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$": "-bad code/",
    "^[0-9+() -]{0,32}$": "call me",
    "^([0-9A-HJ-NPQRTUWXY]{18})?$": "91140824MA0000000I",  # an I: not in the alphabet
}


def valid_value(name, s, ctx):
    """A value of schema s that the route accepts as to its shape; ids come
    from ctx["values"] (real records in the caller's scope)."""
    vals = ctx.get("values", {})
    t = main_type(s)
    if "enum" in s:
        return s.get("default", s["enum"][0]) if s.get("default") in s["enum"] else s["enum"][0]
    if t == "integer":
        if name in vals:
            return vals[name]
        lo, hi = s.get("minimum", 1), s.get("maximum")
        if name == "year":
            return 2024
        v = max(lo, 1)
        return min(v, hi) if hi is not None else v
    if t == "number":
        lo = s.get("minimum", s.get("exclusiveMinimum", 0))
        hi = s.get("maximum", lo + 1)
        return (lo + hi) / 2 if hi - lo <= 1 else lo + 0.5
    if t == "boolean":
        return False
    if t == "string":
        if name in vals and isinstance(vals[name], str):
            return vals[name]
        if s.get("format") == "date":
            return "2024-05-06"
        if s.get("pattern") in PATTERN_SAMPLES:
            return PATTERN_SAMPLES[s["pattern"]]
        if s.get("minLength", 0) >= 8:
            return "Badinput-sample-2024"
        return "坏输入"[: max(1, min(3, s.get("maxLength", 3)))]
    if t == "array":
        item = s.get("items", {})
        singular = name[:-1] if name.endswith("s") else name
        return [valid_value(singular, item, ctx)] if s.get("minItems", 0) or item else []
    if t == "object":
        return valid_object(s, ctx)
    return None


def free_text(s):
    return main_type(s) == "string" and not ({"enum", "format", "pattern"} & set(s)) and \
        s.get("minLength", 0) < 8


def valid_object(s, ctx):
    props = s.get("properties", {})
    req = s.get("required", [])
    out = {}
    for name in req:
        if name in props:
            out[name] = valid_value(name, props[name], ctx)
    if not req and props:
        # An object with no required member (a PATCH): one member, free text
        # when there is one (changing it breaks no rule of the data).
        pick = next((n for n, sub in props.items() if free_text(sub)), None) or \
            next((n for n, sub in props.items()
                  if n in ctx.get("values", {}) or main_type(sub) in ("string", "boolean")), None)
        if pick:
            out[pick] = valid_value(pick, props[pick], ctx)
    return out


# --- bad values --------------------------------------------------------------

WRONG_TYPE = {
    "string": 12345,
    "integer": "12",
    "number": "0.5",
    "boolean": "yes",
    "array": "not an array",
    "object": ["not", "an", "object"],
}


def bad_values(name, s):
    """(case name, value, expected statuses) breaking schema s, one fault each."""
    out = []
    t = main_type(s)
    if t is None:
        return out
    out.append(("wrong type", WRONG_TYPE[t], {422}))
    if t != "object" and t != "array" and not nullable(s):
        out.append(("null", None, {422}))
    if t == "integer":
        out.append(("a fraction", 1.5, {422}))
        lo, hi = s.get("minimum"), s.get("maximum")
        if lo is not None:
            out.append((f"under minimum {lo}", lo - 1, {422}))
        if hi is not None:
            out.append((f"over maximum {hi}", hi + 1, {422}))
        # Past int64: the JSON parser refuses it (400) or the field check (422).
        out.append(("past int64", INT64_MAX + 1, {400, 422}))
    if t == "number":
        lo, hi = s.get("minimum"), s.get("maximum")
        if lo is not None:
            out.append((f"under minimum {lo}", lo - 0.5, {422}))
        if "exclusiveMinimum" in s:
            out.append((f"at exclusive minimum {s['exclusiveMinimum']}", s["exclusiveMinimum"], {422}))
        if hi is not None:
            out.append((f"over maximum {hi}", hi + 0.5, {422}))
    if t == "string":
        if "enum" in s:
            out.append(("not in the enum", "no_such_value", {422}))
        if "maxLength" in s:
            out.append((f"over maxLength {s['maxLength']}", "x" * (s["maxLength"] + 1), {422}))
            # maxLength counts characters: one more than it in 3-byte characters.
            out.append((f"over maxLength {s['maxLength']} in Chinese", "字" * (s["maxLength"] + 1), {422}))
        if s.get("minLength", 0) >= 1:
            out.append((f"under minLength {s['minLength']}", "", {422}))
        if s.get("format") == "date":
            out.append(("a date that does not exist", "2024-02-30", {422}))
            out.append(("not a leap year", "2023-02-29", {422}))
            out.append(("month 13", "2024-13-01", {422}))
            out.append(("not a date", "next week", {422}))
        if s.get("pattern") in PATTERN_BREAKERS:
            out.append(("breaks the pattern", PATTERN_BREAKERS[s["pattern"]], {422}))
        # A NUL in a string: refused before it could reach PostgreSQL.
        out.append(("a NUL character", "a\u0000b", {400, 422}))
    if t == "array":
        item = s.get("items", {})
        if "maxItems" in s:
            sample = 1 if main_type(item) == "integer" else "x"
            out.append((f"over maxItems {s['maxItems']}", [sample] * (s["maxItems"] + 1), {422}))
        it = main_type(item)
        if it in WRONG_TYPE and it != "object":
            out.append(("an item of the wrong type", [WRONG_TYPE[it]], {422}))
        if it == "integer" and item.get("minimum") is not None:
            out.append(("an item under minimum", [item["minimum"] - 1], {422}))
        if it == "string" and "maxLength" in item:
            out.append(("an item over maxLength", ["x" * (item["maxLength"] + 1)], {422}))
        if it == "string":
            out.append(("an item with a NUL", ["a\u0000b"], {400, 422}))
    if t == "object" and "propertyNames" in s and "enum" in s["propertyNames"]:
        out.append(("a key not in the enum", {"no_such_key": "x"}, {422}))
        ap = s.get("additionalProperties")
        key = s["propertyNames"]["enum"][0]
        if isinstance(ap, dict) and "maxLength" in ap:
            out.append(("a value over maxLength", {key: "x" * (ap["maxLength"] + 1)}, {422}))
        if isinstance(ap, dict) and main_type(ap) == "string":
            out.append(("a value of the wrong type", {key: 1}, {422}))
    return out


def body_cases(op, ctx):
    """Cases for a JSON body: (case, raw bytes, content type, expected, field)."""
    s = op["body"]["schema"]
    base = valid_object(s, ctx)
    # The route's own valid values (a project that may take a start, a unit
    # kind that may sit under the county...), from the caller's context.
    base.update(ctx.get("bases", {}).get(f"{op['method']} {op['path']}", {}))
    props = s.get("properties", {})
    required = s.get("required", [])
    cases = []

    def add(name, obj_or_raw, expect, field=None, ctype="application/json"):
        raw = obj_or_raw if isinstance(obj_or_raw, bytes) else \
            json.dumps(obj_or_raw, ensure_ascii=False).encode()
        cases.append({"case": name, "body": raw, "ctype": ctype, "expect": sorted(expect), "field": field})

    # The body as a whole.
    add("not JSON", b'{"truncated": ', {400})
    add("empty body", b"", {400})
    add("a JSON array", b"[]", {400})
    add("a JSON scalar", b"42", {400})
    add("a JSON string", b'"text"', {400})
    add("JSON null", b"null", {400})
    add("invalid UTF-8", b'{"' + (next(iter(props), "x")).encode() + b'": "\xff\xfe"}', {400})
    if props:
        first = next(iter(props))
        dup = '{"%s": %s, "%s": %s}' % (first, json.dumps(valid_value(first, props[first], ctx)),
                                        first, json.dumps(valid_value(first, props[first], ctx)))
        add("a member named twice", dup.encode(), {400})
    add("a NUL escape in a member name", b'{"a\\u0000b": 1}', {400, 422})
    add("text/plain", json.dumps(base).encode(), {415}, ctype="text/plain")
    add("JSON in latin1", json.dumps(base).encode(), {415}, ctype="application/json; charset=latin1")
    if s.get("additionalProperties") is False:
        add("an unknown member", dict(base, no_such_field=1), {422}, "no_such_field")
    if s.get("minProperties", 0) >= 1:
        add("no member at all", {}, {422})
    for name in required:
        b = dict(base)
        b.pop(name, None)
        add(f"{name} missing", b, {422}, name)
    for name, sub in props.items():
        for case, value, expect in bad_values(name, sub):
            add(f"{name}: {case}", dict(base, **{name: value}), expect, name)
        # Arrays of objects and nested objects: their members, one level down.
        if main_type(sub) == "array" and main_type(sub.get("items", {})) == "object":
            item_s = sub["items"]
            item = valid_object(item_s, ctx)
            prefix = f"{name}[0]."
            for r in item_s.get("required", []):
                i = dict(item)
                i.pop(r, None)
                add(f"{prefix}{r} missing", dict(base, **{name: [i]}), {422}, prefix + r)
            if item_s.get("additionalProperties") is False:
                add(f"{prefix}an unknown member", dict(base, **{name: [dict(item, no_such_field=1)]}),
                    {422}, prefix + "no_such_field")
            for m, ms in item_s.get("properties", {}).items():
                for case, value, expect in bad_values(m, ms):
                    add(f"{prefix}{m}: {case}", dict(base, **{name: [dict(item, **{m: value})]}),
                        expect, prefix + m)
        if main_type(sub) == "object" and "properties" in sub:
            inner = valid_object(sub, ctx) or {}
            prefix = f"{name}."
            if sub.get("additionalProperties") is False:
                add(f"{prefix}an unknown member", dict(base, **{name: dict(inner, no_such_field=1)}),
                    {422}, prefix + "no_such_field")
            for m, ms in sub["properties"].items():
                for case, value, expect in bad_values(m, ms):
                    add(f"{prefix}{m}: {case}", dict(base, **{name: dict(inner, **{m: value})}),
                        expect, prefix + m)
    return base, cases


def param_bad_values(p):
    """(case, raw text, expected) for a path or query parameter."""
    s = p["schema"]
    t = main_type(s)
    out = []
    if t == "integer":
        out += [("not a number", "abc", {400, 404}), ("a fraction", "1.5", {400, 404}),
                ("negative", "-1", {400, 404}), ("20 digits", "9" * 20, {400, 404}),
                ("past int64", str(INT64_MAX + 1), {400, 404}),
                ("trailing junk", "1x", {400, 404}), ("a space", "1%201", {400, 404})]
        if p["in"] == "path":
            # Query parameters accept "+1" as 1 (strtoll); path ids do not.
            out.append(("leading plus", "+1", {400, 404}))
        lo, hi = s.get("minimum"), s.get("maximum")
        if lo is not None and lo - 1 != -1:
            out.append((f"under minimum {lo}", str(lo - 1), {400, 404}))
        if hi is not None:
            out.append((f"over maximum {hi}", str(hi + 1), {400, 404}))
    elif t == "boolean":
        out += [("not a boolean", "maybe", {400}), ("a number", "2", {400})]
    elif t == "string":
        if "enum" in s:
            out.append(("not in the enum", "no_such_value", {400}))
        if "maxLength" in s:
            out.append((f"over maxLength {s['maxLength']}", "x" * (s["maxLength"] + 1), {400}))
        if s.get("format") == "date":
            out += [("a date that does not exist", "2024-02-30", {400}), ("not a date", "tomorrow", {400})]
        if p["name"] == "cursor":
            out.append(("a forged cursor", "bm90LWEtY3Vyc29y", {400}))
        out.append(("a NUL character", "a%00b", {400}))
    if p["in"] == "path":
        # A path segment that is not a number at all is no route of its own.
        out = [(c, v, e | {404}) for c, v, e in out]
    return out


def operation_cases(op, ctx):
    """Every case of an operation, each a dict: case, path, query, body,
    ctype, expect, field, if_match."""
    ids = ctx.get("ids", {})
    cases = []
    path_params = [p for p in op["params"] if p["in"] == "path"]
    query_params = [p for p in op["params"] if p["in"] == "query"]

    def good_path():
        path = op["path"]
        for p in path_params:
            path = path.replace("{%s}" % p["name"], str(path_value(op["path"], p, ids)))
        return path

    body = op["body"]
    base_raw, base_ctype = None, None
    body_list = []
    if body and body["type"] and "json" in body["type"]:
        base, body_list = body_cases(op, ctx)
        base_raw, base_ctype = json.dumps(base, ensure_ascii=False).encode(), "application/json"
    elif body and body["type"] == "text/csv":
        base_raw, base_ctype = b"no,header\n", "text/csv"
        body_list = [{"case": "a JSON body", "body": b"{}", "ctype": "application/json",
                      "expect": [400, 415, 422], "field": None}]

    patch = op["method"] == "PATCH"
    for p in path_params:
        for case, raw, expect in param_bad_values(p):
            path = op["path"].replace("{%s}" % p["name"], raw)
            for q in path_params:
                if q is not p:
                    path = path.replace("{%s}" % q["name"], str(path_value(op["path"], q, ids)))
            cases.append({"case": f"path {p['name']}: {case}", "path": path, "query": "",
                          "body": base_raw, "ctype": base_ctype, "expect": sorted(expect | {412} if patch else expect),
                          "field": None, "if_match": '"1"' if patch else None})
    for p in query_params:
        for case, raw, expect in param_bad_values(p):
            cases.append({"case": f"query {p['name']}: {case}", "path": good_path(),
                          "query": f"{p['name']}={raw}" if "%" in raw else
                          urllib.parse.urlencode({p["name"]: raw}),
                          "body": base_raw, "ctype": base_ctype, "expect": sorted(expect), "field": None,
                          "if_match": None})
    for c in body_list:
        cases.append(dict(c, path=good_path(), query="", if_match="current" if patch else None))
    if patch:
        cases.append({"case": "no If-Match", "path": good_path(), "query": "", "body": base_raw,
                      "ctype": base_ctype, "expect": [428], "field": None, "if_match": None})
        cases.append({"case": "a weak If-Match", "path": good_path(), "query": "", "body": base_raw,
                      "ctype": base_ctype, "expect": [412], "field": None, "if_match": "weak"})
        cases.append({"case": "If-Match of another version", "path": good_path(), "query": "",
                      "body": base_raw, "ctype": base_ctype, "expect": [412], "field": None,
                      "if_match": '"999999"'})
    if body and base_raw is not None and op["method"] == "POST" and not op["public"]:
        cases.append({"case": "a malformed Idempotency-Key", "path": good_path(), "query": "",
                      "body": base_raw, "ctype": base_ctype, "expect": [400], "field": None,
                      "if_match": None, "headers": {"Idempotency-Key": "x" * 256}})
    return cases


def path_value(template, p, ids):
    if p["name"] == "year":
        return 2024
    segs = [s for s in template.split("/") if s]
    i = segs.index("{%s}" % p["name"])
    coll = segs[i - 1]
    return ids.get(coll, 1)


def role_for(op):
    for r in ROLE_PREFERENCE:
        if r in op["roles"]:
            return r
    return None


def all_cases(contract, ctx):
    ops = []
    for op in contract.operations():
        if (op["method"], op["path"]) in SKIP:
            continue
        cases = operation_cases(op, ctx)
        if not cases:
            continue
        ops.append((op, cases))
    return ops


# --- sending and checking -----------------------------------------------------

def excerpt(data, n=300):
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else str(data)
    text = re.sub(r"[\x00-\x1f\x7f]", " ", text)  # one line, no NUL (an XLSX is a zip)
    return text if len(text) <= n else text[:n] + "…"


def check(case, status, headers, data, rid):
    """What is wrong with an answer, or None."""
    if status not in case["expect"]:
        return f"status {status}, expected {'/'.join(map(str, case['expect']))}"
    ctype = headers.get("content-type", "")
    if not ctype.startswith("application/problem+json"):
        return f"Content-Type {ctype or '(none)'}, not application/problem+json"
    try:
        problem = json.loads(data)
    except ValueError:
        return "the body is not JSON"
    if not isinstance(problem, dict):
        return "the body is not an object"
    if problem.get("status") != status:
        return f"problem status {problem.get('status')!r} is not {status}"
    if problem.get("request_id") != rid:
        return f"problem request_id {problem.get('request_id')!r} is not {rid}"
    if status == 422:
        errors = problem.get("errors")
        if not isinstance(errors, list) or not errors or \
                not all(isinstance(e, dict) and isinstance(e.get("field"), str) and e["field"] for e in errors):
            return "a 422 without errors[].field"
        if case.get("field"):
            fields = [e["field"] for e in errors]
            want = case["field"]
            if not any(f == want or f.startswith(want + ".") or f.startswith(want + "[") for f in fields):
                return f"a 422 naming {fields}, not {want}"
    return None


class Client:
    def __init__(self, url):
        u = urllib.parse.urlsplit(url)
        self.host, self.port = u.hostname, u.port
        self.conn = None

    def send(self, method, target, headers, body):
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=15)
            try:
                self.conn.putrequest(method, target, skip_accept_encoding=True)
                for k, v in headers.items():
                    self.conn.putheader(k, v)
                if body is not None:
                    self.conn.putheader("Content-Length", str(len(body)))
                self.conn.endheaders(body)
                r = self.conn.getresponse()
                data = r.read()
                hdrs = {k.lower(): v for k, v in r.getheaders()}
                if hdrs.get("connection", "").lower() == "close":
                    self.conn.close()
                    self.conn = None
                return r.status, hdrs, data
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")


def run(contract, ctx):
    client = Client(ctx["url"])
    known = set(ctx.get("known", []))
    skip = set(ctx.get("skip", []))
    ops = all_cases(contract, ctx)
    versions = {}
    n_cases = 0
    failures, seen_known = [], []
    for op, cases in ops:
        role = role_for(op)
        token = ctx["tokens"].get(role) if role else None
        if not op["public"] and not token:
            failures.append(f"{op['method']} {op['path']} | no role to call it with (roles {op['roles']})")
            continue
        for i, case in enumerate(cases):
            key = f"{op['method']} {op['path']} | {case['case']}"
            if key in skip:
                seen_known.append(f"{key} | not sent (it would change data)")
                continue
            n_cases += 1
            rid = f"bad-input.{n_cases}"
            headers = {"X-Request-Id": rid}
            if token and not op["public"]:
                headers["Authorization"] = f"Bearer {token}"
            if case["body"] is not None:
                headers["Content-Type"] = case["ctype"]
            headers.update(case.get("headers", {}))
            im = case.get("if_match")
            if im in ("current", "weak"):
                if case["path"] not in versions:
                    st, h, _ = client.send("GET", case["path"],
                                           {"Authorization": f"Bearer {token}"}, None)
                    versions[case["path"]] = h.get("etag", '"1"') if st == 200 else '"1"'
                im = versions[case["path"]] if im == "current" else "W/" + versions[case["path"]]
            if im:
                headers["If-Match"] = im
            target = case["path"] + ("?" + case["query"] if case["query"] else "")
            try:
                status, hdrs, data = client.send(op["method"], target, headers, case["body"])
                problem = check(case, status, hdrs, data, rid)
                if 200 <= status < 300:
                    versions.pop(case["path"], None)  # it changed: read its ETag again
            except (http.client.HTTPException, OSError) as e:
                status, data, problem = 0, str(e).encode(), f"no answer: {e}"
            if problem:
                line = f"{key} | {target[:120]} | {status} | {problem} | {excerpt(data)}"
                (seen_known if key in known else failures).append(line)
    sent_ok = {k for k in known} - {l.split(" | ")[0] + " | " + l.split(" | ")[1] for l in seen_known}
    for k in sorted(sent_ok):
        print(f"note: {k} is listed as a known product bug but passed: take it off the list")
    print(f"operations {len(ops)} cases {n_cases} (known product bugs: {len(seen_known)}, failures: {len(failures)})")
    for line in seen_known:
        print("known product bug: " + line)
    for line in failures:
        print("FAIL: " + line)
    return 1 if failures else 0


def main(argv):
    if len(argv) >= 3 and argv[1] == "list":
        contract = Contract(argv[2])
        ctx = json.load(open(argv[3])) if len(argv) > 3 else {}
        total = 0
        for op, cases in all_cases(contract, ctx):
            for c in cases:
                total += 1
                print(json.dumps({"method": op["method"], "path": op["path"], "role": role_for(op),
                                  "case": c["case"], "target": c["path"] + ("?" + c["query"] if c["query"] else ""),
                                  "expect": c["expect"], "field": c["field"],
                                  "body": excerpt(c["body"] or b"", 120)}, ensure_ascii=False))
        print(f"# {total} cases", file=sys.stderr)
        return 0
    if len(argv) == 4 and argv[1] == "run":
        return run(Contract(argv[2]), json.load(open(argv[3])))
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
