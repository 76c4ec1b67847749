#!/usr/bin/env python3
"""Parse a tide server's GET /metrics with prometheus_client's text parser
(tests/e2e/metrics.sh runs it) and check it against what the test knows
independently.

  metrics_check.py ADDR TOKEN|- JOB TOPIC RECORDS

RECORDS is the number of records the test wrote to TOPIC (counted by the
test itself).  Checks: the text parses; every family has HELP and a known
type; the topic's end offsets add up to RECORDS; every version GET /jobs
lists (read just before) has its state and counters at least as high.  Prints "ok ..."/"FAIL ..." lines, exit 1 on a
failure.
"""
import json
import sys
import urllib.request

from prometheus_client.parser import text_string_to_metric_families


def get(addr, path, token):
    req = urllib.request.Request("http://%s%s" % (addr, path))
    if token:
        req.add_header("Authorization", "Bearer " + token)
    with urllib.request.urlopen(req, timeout=30) as r:
        return r.headers.get("Content-Type", ""), r.read().decode()


def main():
    addr, token, job, topic, records = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
    token = None if token == "-" else token
    fails = []

    def check(name, cond, why=""):
        print(("ok   " if cond else "FAIL ") + name + ("" if cond else ": " + str(why)), flush=True)
        if not cond:
            fails.append(name)

    jobs_before = json.loads(get(addr, "/jobs", token)[1])["jobs"]
    check("GET /jobs lists %s" % job, any(j["name"] == job for j in jobs_before), [j["name"] for j in jobs_before])
    ctype, text = get(addr, "/metrics", token)
    check("content type is the text format 0.0.4", ctype.startswith("text/plain") and "0.0.4" in ctype, ctype)
    try:
        fams = {f.name: f for f in text_string_to_metric_families(text)}
    except Exception as e:  # the parser's verdict
        check("prometheus_client parses /metrics", False, e)
        return 1
    check("prometheus_client parses /metrics", len(fams) > 10, "%d families" % len(fams))
    # the parser strips _total from counter family names
    want = {"tide_up": "gauge", "tide_records_in": "counter", "tide_records_out": "counter",
            "tide_records_late": "counter", "tide_records_bad": "counter", "tide_lag_records": "gauge",
            "tide_lag_seconds": "gauge", "tide_watermark_delay_seconds": "gauge",
            "tide_checkpoint_duration_seconds": "gauge", "tide_checkpoint_size_bytes": "gauge",
            "tide_state_size_bytes": "gauge", "tide_restarts": "counter", "tide_topic_end_offset": "gauge",
            "tide_topic_size_bytes": "gauge"}
    for name, typ in want.items():
        f = fams.get(name)
        check("family %s (%s) with help" % (name, typ), f is not None and f.type == typ and f.documentation,
              f and (f.type, f.documentation))

    def sample(fam, sname, **labels):
        f = fams.get(fam)
        for s in (f.samples if f else []):
            if s.name == sname and all(s.labels.get(k) == v for k, v in labels.items()):
                return s.value
        return None

    end = sum(s.value for s in fams["tide_topic_end_offset"].samples if s.labels.get("topic") == topic)
    check("the end offsets of %s add up to the %d records written" % (topic, records), end == records, end)
    size = sum(s.value for s in fams["tide_topic_size_bytes"].samples if s.labels.get("topic") == topic)
    check("%s has bytes" % topic, size > records, size)
    # every job version of GET /jobs (read before /metrics: counters only grow)
    for j in jobs_before:
        for v in j["versions"]:
            lab = dict(job=j["name"], version=str(v["version"]))
            check("%s v%d has its state %s" % (j["name"], v["version"], v["state"]),
                  sample("tide_version_state", "tide_version_state", state=v["state"], **lab) == 1)
            for key, fam, sname in (("records_in", "tide_records_in", "tide_records_in_total"),
                                    ("records_out", "tide_records_out", "tide_records_out_total"),
                                    ("late", "tide_records_late", "tide_records_late_total"),
                                    ("bad", "tide_records_bad", "tide_records_bad_total"),
                                    ("restarts", "tide_restarts", "tide_restarts_total")):
                got = sample(fam, sname, **lab)
                check("%s v%d: /metrics %s >= /jobs %s before it" % (j["name"], v["version"], sname, key),
                      got is not None and got >= v[key], "%s vs %s" % (got, v[key]))
            c = v.get("checkpoint")
            got = sample("tide_checkpoint_id", "tide_checkpoint_id", **lab)
            check("%s v%d: a checkpoint id when /jobs has one" % (j["name"], v["version"]),
                  (got is not None and got >= c["id"]) if c else got is None, "%s vs %s" % (got, c))
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
