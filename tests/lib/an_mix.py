#!/usr/bin/python3
"""A traffic mix of known shape for the analytics REST API tests (tests/lib/an.sh).

  an_mix.py sql                      the INSERTs of every gh_analytics_minute row of the mix
  an_mix.py check SCOPE REPORT QUERY  compare a reply (stdin) with what the mix says:
                                     prints "ok" or what differs
  an_mix.py total SCOPE FIELD QUERY  one number of the mix (requests, errors, throttled)

The mix: 3 hours from T0 = 2025-01-01T00:00:00Z, a row every 4th minute, for 3 APIs of
carbon.super x 2 applications (dev's, eve's) x status classes x countries (US, DE and
unknown), every request with its own latency; plus acme.com's traffic (its API called by
carol@acme.com's application and by dev's), carol's application calling a carbon.super
API, and two rows just outside the range.  SCOPE is whose view is checked: pub:TENANT
(the publisher's, by API tenant) or dev:OWNER:TENANT (the portal's, by application owner).
The expected figures are computed here from the individual requests, never by SQL.
"""
import json
import sys
import urllib.parse
from datetime import datetime, timezone

T0 = 1735689600000
MIN, HOUR, DAY = 60000, 3600000, 86400000
BOUNDS = [1, 2, 3, 5, 7, 10, 15, 20, 30, 50, 70, 100, 150, 200, 300, 500, 700,
          1000, 1500, 2000, 3000, 5000, 7000, 10000, 15000, 20000, 30000, 60000]

APIS = {  # id: (tenant, name, version, weight)
    "api-pizza": ("carbon.super", "Pizza", "1.0.0", 2),
    "api-weather": ("carbon.super", "Weather", "2.0.0", 3),
    "api-stocks": ("carbon.super", "Stocks", "1.0.0", 1),
    "api-widgets": ("acme.com", "Widgets", "1.0.0", 1),
}
APPS = {  # id: (app tenant, owner, name, weight)
    "app-dev": ("carbon.super", "dev", "DevApp", 2),
    "app-eve": ("carbon.super", "eve", "EveApp", 1),
    "app-carol": ("acme.com", "carol@acme.com", "CarolApp", 1),
}
BASE = {2: 5, 3: 1, 4: 2, 5: 1}
COUNTRY = {"US": 3, "DE": 2, "": 1}


def bucket(ms):
    for i, b in enumerate(BOUNDS):
        if ms <= b:
            return i
    return len(BOUNDS)


def latencies(api, cls, n, minute):
    """The latency of each of n requests of a row."""
    out = []
    for r in range(n):
        if api == "api-pizza":
            v = 3 + (r + minute) % 4                      # 3..6 ms
        elif api == "api-weather":
            v = 40 + 15 * ((r + minute) % 5)              # 40..100 ms
        elif api == "api-stocks":
            v = 200 * (1 + (r + minute) % 3)              # 200..600 ms
        else:
            v = 10 + 7 * (r % 9)                          # 10..66 ms
        if cls == 5:
            v += 1400 + 3000 * (r % 2)                    # slow failures
        if api == "api-stocks" and cls == 5 and r == 0 and minute == 100:
            v = 61000                                     # one in the open bucket
        out.append(v)
    return out


def rows():
    out = []

    def add(minute_ms, api, app, cls, country, n):
        tenant, api_name, api_ver, _ = APIS[api]
        app_tenant, owner, app_name, _ = APPS[app]
        lat = latencies(api, cls, n, (minute_ms - T0) // MIN)
        out.append(dict(minute=minute_ms, tenant=tenant, api=api, api_name=api_name, api_ver=api_ver,
                        app=app, app_tenant=app_tenant, owner=owner, app_name=app_name, cls=cls,
                        country=country, n=n, thr=n // 2 if cls == 4 else 0, lat=lat))

    for m in range(0, 180, 4):
        hour = m // 60
        for api in ("api-pizza", "api-weather", "api-stocks"):
            for app in ("app-dev", "app-eve"):
                for cls in (2, 3, 4, 5):
                    if cls == 3 and api != "api-stocks":
                        continue
                    for country in ("US", "DE", ""):
                        n = BASE[cls] * APIS[api][3] * APPS[app][3] * COUNTRY[country] * (hour + 1)
                        add(T0 + m * MIN, api, app, cls, country, n)
        if m % 20 == 0:
            add(T0 + m * MIN, "api-widgets", "app-carol", 2, "FR", 7)
            add(T0 + m * MIN, "api-widgets", "app-carol", 5, "FR", 1)
            add(T0 + m * MIN, "api-widgets", "app-dev", 2, "", 3)
            add(T0 + m * MIN, "api-pizza", "app-carol", 2, "FR", 4)
    add(T0 - MIN, "api-pizza", "app-dev", 2, "US", 1000)          # before the range
    add(T0 + 180 * MIN, "api-pizza", "app-dev", 2, "US", 1000)    # at its end (excluded)
    return out


def sql_literal(s):
    return "'" + s.replace("'", "''") + "'"


def cmd_sql():
    vals = []
    for r in rows():
        hist = [0] * (len(BOUNDS) + 1)
        for v in r["lat"]:
            hist[bucket(v)] += 1
        vals.append("(to_timestamp(%d), %s, %s, %s, %d, %s, %s, %s, %s, %s, %s, %d, %d, %d, %d, '{%s}')" % (
            r["minute"] // 1000, sql_literal(r["tenant"]), sql_literal(r["api"]), sql_literal(r["app"]),
            r["cls"], sql_literal(r["country"]), sql_literal(r["app_tenant"]), sql_literal(r["owner"]),
            sql_literal(r["api_name"]), sql_literal(r["api_ver"]), sql_literal(r["app_name"]),
            r["n"], r["thr"], sum(r["lat"]), max(r["lat"]), ",".join(map(str, hist))))
    print("INSERT INTO gh_analytics_minute (minute, tenant, api_id, app_id, status_class, country, "
          "app_tenant, app_owner, api_name, api_version, app_name, requests, throttled, latency_sum, "
          "latency_max, latency_hist) VALUES\n" + ",\n".join(vals) + ";")


def parse_time(s):
    if s.isdigit():
        return int(s)
    return int(datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp() * 1000)


def params(query):
    q = dict(urllib.parse.parse_qsl(query, keep_blank_values=True))
    to = parse_time(q["to"])
    frm = parse_time(q["from"])
    g = q.get("granularity")
    if g is None:
        span = to - frm
        g = "minute" if span <= 6 * HOUR else "hour" if span <= 14 * DAY else "day"
    return dict(frm=frm, to=to, gran=g, width={"minute": MIN, "hour": HOUR, "day": DAY}[g],
                api=q.get("apiId"), app=q.get("applicationId"), limit=int(q.get("limit", "10")))


def selected(scope, p):
    kind, *rest = scope.split(":")
    out = []
    for r in rows():
        if kind == "pub" and r["tenant"] != rest[0]:
            continue
        if kind == "dev" and (r["owner"] != rest[0] or r["app_tenant"] != rest[1]):
            continue
        if not (p["frm"] <= r["minute"] < p["to"]):
            continue
        if p["api"] is not None and r["api"] != p["api"]:
            continue
        if p["app"] is not None and r["app"] != p["app"]:
            continue
        out.append(r)
    return out


def pct(lat, q):
    """Nearest-rank percentile of the exact latencies, and the bucket upper bound it reports."""
    if not lat:
        return 0, 0
    s = sorted(lat)
    exact = s[(len(s) * q + 99) // 100 - 1]
    b = bucket(exact)
    return exact, (BOUNDS[b] if b < len(BOUNDS) else max(lat))


def iso(ms):
    return datetime.fromtimestamp(ms / 1000, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (ms % 1000)


def agg(rs):
    lat = [v for r in rs for v in r["lat"]]
    e4 = sum(r["n"] for r in rs if r["cls"] == 4)
    e5 = sum(r["n"] for r in rs if r["cls"] == 5)
    a = dict(requests=sum(r["n"] for r in rs), errors=e4 + e5, clientErrors=e4, serverErrors=e5,
             throttled=sum(r["thr"] for r in rs), max=max(lat) if lat else 0,
             avg="%.2f" % (sum(lat) / len(lat) if lat else 0.0))
    for q in (50, 95, 99):
        exact, a["p%d" % q] = pct(lat, q)
        a["exact_p%d" % q] = exact
    return a


FIELDS = {
    "requests": ("requests", "errors", "throttled"),
    "errors": ("requests", "errors", "clientErrors", "serverErrors"),
    "latency": ("requests", "max", "p50", "p95", "p99"),
}


def expected_series(report, rs, p):
    first = p["frm"] // p["width"] * p["width"]
    last = (p["to"] - 1) // p["width"] * p["width"]
    pts = []
    for b in range(first, last + 1, p["width"]):
        a = agg([r for r in rs if r["minute"] // p["width"] * p["width"] == b])
        pts.append((b, a))
    return pts, agg(rs)


def expected_top(report, rs, p):
    key = {"top-apis": "api", "top-applications": "app", "countries": "country"}[report]
    groups = {}
    for r in rs:
        if report == "top-applications" and r["app"] == "":
            continue
        groups.setdefault(r[key], []).append(r)
    items = []
    for k, g in groups.items():
        items.append(dict(key=k, requests=sum(r["n"] for r in g),
                          errors=sum(r["n"] for r in g if r["cls"] in (4, 5)),
                          throttled=sum(r["thr"] for r in g)))
    items.sort(key=lambda i: (-i["requests"], i["key"]))
    return items[:p["limit"]], len(items)


def check(scope, report, query, body):
    p = params(query)
    rs = selected(scope, p)
    diffs = []

    def eq(what, want, got):
        if want != got:
            diffs.append("%s: want %r got %r" % (what, want, got))

    eq("from", p["frm"], body.get("from"))
    eq("to", p["to"], body.get("to"))
    eq("fromTime", iso(p["frm"]), body.get("fromTime"))
    if report in FIELDS:
        pts, total = expected_series(report, rs, p)
        eq("granularity", p["gran"], body.get("granularity"))
        eq("count", len(pts), body.get("count"))
        got = body.get("list", [])
        eq("list length", len(pts), len(got))
        for i, (ts, a) in enumerate(pts):
            if i >= len(got):
                break
            eq("list[%d].timestamp" % i, ts, got[i].get("timestamp"))
            eq("list[%d].time" % i, iso(ts), got[i].get("time"))
            for f in FIELDS[report]:
                eq("list[%d].%s" % (i, f), a[f], got[i].get(f))
            if report == "latency":
                eq("list[%d].avg" % i, a["avg"], "%.2f" % got[i].get("avg", -1))
        s = body.get("summary", {})
        for f in FIELDS[report]:
            eq("summary.%s" % f, total[f], s.get(f))
        if report == "latency":
            eq("summary.avg", total["avg"], "%.2f" % s.get("avg", -1))
            for q in (50, 95, 99):
                # within one bucket: never below the exact value, in the same bucket
                v = s.get("p%d" % q, -1)
                if v < total["exact_p%d" % q] or bucket(min(v, 60001)) != bucket(min(total["exact_p%d" % q], 60001)):
                    diffs.append("summary.p%d=%r not in the bucket of %r" % (q, v, total["exact_p%d" % q]))
        if report == "errors":
            eq("byStatusClass", [{"statusClass": "4xx", "requests": total["clientErrors"]},
                                 {"statusClass": "5xx", "requests": total["serverErrors"]}],
               body.get("byStatusClass"))
    elif report == "status":
        want = [{"statusClass": "%dxx" % c, "requests": sum(r["n"] for r in rs if r["cls"] == c)}
                for c in range(1, 6)]
        eq("list", want, body.get("list"))
        eq("total", sum(r["n"] for r in rs), body.get("total"))
    else:
        items, total = expected_top(report, rs, p)
        keyname = {"top-apis": "apiId", "top-applications": "applicationId", "countries": "country"}[report]
        got = body.get("list", [])
        eq("count", len(items), body.get("count"))
        eq("total", total, body.get("total"))
        eq("order", [i["key"] or "unknown" for i in items], [g.get(keyname) for g in got])
        for i, g in zip(items, got):
            for f in ("requests", "errors", "throttled"):
                eq("%s.%s" % (i["key"], f), i[f], g.get(f))
            if report == "top-apis":
                eq("%s.apiName" % i["key"], APIS[i["key"]][1], g.get("apiName"))
                eq("%s.apiVersion" % i["key"], APIS[i["key"]][2], g.get("apiVersion"))
            if report == "top-applications":
                eq("%s.applicationName" % i["key"], APPS[i["key"]][2], g.get("applicationName"))
                eq("%s.applicationOwner" % i["key"], APPS[i["key"]][1], g.get("applicationOwner"))
    return diffs


def main():
    if sys.argv[1] == "sql":
        cmd_sql()
    elif sys.argv[1] == "check":
        try:
            body = json.load(sys.stdin)
        except ValueError:
            print("not JSON")
            return
        d = check(sys.argv[2], sys.argv[3], sys.argv[4], body)
        print("ok" if not d else "; ".join(d[:6]) + (" (+%d more)" % (len(d) - 6) if len(d) > 6 else ""))
    elif sys.argv[1] == "total":
        p = params(sys.argv[4])
        print(agg(selected(sys.argv[2], p))[sys.argv[3]])


main()
