#!/usr/bin/env python3
"""Drive headless chromium over the DevTools protocol against the tide
dashboard (tests/e2e/dashboard.sh runs it).

Checks: the page loads with no console error, no uncaught exception and no
failed request; the jobs table shows every job named with --jobs; while the
input grows the charts are redrawn with more points and different pixels,
and the records-in shown grow; the result table of the first job fills.
Saves a screenshot.  Prints one line per check ("ok ..." / "FAIL ...") and
exits 1 when one failed.

Needs the PyPI package websocket-client (the test installs it in a venv).
"""
import argparse
import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

import websocket  # websocket-client


class Page:
    def __init__(self, ws_url):
        self.ws = websocket.create_connection(ws_url, timeout=30, suppress_origin=True)
        self.next_id = 0
        self.events = []

    def call(self, method, **params):
        self.next_id += 1
        mid = self.next_id
        self.ws.send(json.dumps({"id": mid, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == mid:
                if "error" in msg:
                    raise RuntimeError("%s: %s" % (method, msg["error"]))
                return msg.get("result", {})
            if "method" in msg:
                self.events.append(msg)

    def eval(self, expr):
        r = self.call("Runtime.evaluate", expression=expr, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in r:
            raise RuntimeError("evaluate %s: %s" % (expr, r["exceptionDetails"].get("text")))
        return r["result"].get("value")

    def wait_for(self, expr, timeout):
        end = time.time() + timeout
        while time.time() < end:
            v = self.eval(expr)
            if v:
                return v
            time.sleep(0.2)
        return None

    def errors(self):
        out = []
        for ev in self.events:
            m, p = ev["method"], ev.get("params", {})
            if m == "Runtime.exceptionThrown":
                d = p.get("exceptionDetails", {})
                out.append("uncaught: %s %s" % (d.get("text"), (d.get("exception") or {}).get("description", "")))
            elif m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                out.append("console.%s: %s" % (p["type"], " ".join(str(a.get("value", a.get("description")))
                                                                for a in p.get("args", []))))
            elif m == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
                e = p["entry"]
                out.append("log: %s %s" % (e.get("text"), e.get("url", "")))
            elif m == "Network.loadingFailed" and not p.get("canceled"):
                out.append("request failed: %s" % p.get("errorText"))
            elif m == "Network.responseReceived" and p.get("response", {}).get("status", 200) >= 400:
                out.append("HTTP %d for %s" % (p["response"]["status"], p["response"]["url"]))
        return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--chromium", required=True)
    ap.add_argument("--url", required=True)
    ap.add_argument("--jobs", required=True, help="comma-separated job names the page must show")
    ap.add_argument("--screenshot", required=True)
    ap.add_argument("--wait", type=float, default=5.0, help="seconds between the two looks at the charts")
    args = ap.parse_args()

    fails = []

    def check(name, cond, why=""):
        print(("ok   " if cond else "FAIL ") + name + ("" if cond else ": " + why), flush=True)
        if not cond:
            fails.append(name)

    profile = tempfile.mkdtemp(prefix="tide-chromium-")
    proc = subprocess.Popen(
        [args.chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--no-first-run", "--no-default-browser-check", "--disable-extensions", "--hide-scrollbars",
         "--remote-debugging-port=0", "--user-data-dir=" + profile, "--window-size=1440,1100", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        port_file = os.path.join(profile, "DevToolsActivePort")
        end = time.time() + 60
        while not os.path.exists(port_file) or os.path.getsize(port_file) == 0:
            if time.time() > end or proc.poll() is not None:
                print("FAIL chromium did not start (no DevToolsActivePort)")
                return 1
            time.sleep(0.1)
        port = int(open(port_file).read().split()[0])
        targets = json.load(urllib.request.urlopen("http://127.0.0.1:%d/json/list" % port, timeout=10))
        ws_url = next(t["webSocketDebuggerUrl"] for t in targets if t.get("type") == "page")
        page = Page(ws_url)
        for domain in ("Runtime", "Log", "Page", "Network"):
            page.call(domain + ".enable")
        page.call("Page.navigate", url=args.url)

        polled = page.wait_for("window.tide && window.tide.polls >= 2 ? window.tide.polls : 0", 30)
        check("the page loads and polls /jobs", bool(polled), "window.tide.polls never reached 2")
        if not polled:
            print("\n".join(page.errors()))
            return 1
        want = [j for j in args.jobs.split(",") if j]
        shown = page.wait_for(
            "(() => { const s = new Set(Array.from(document.querySelectorAll('#jobs tbody tr'))"
            ".map(r => r.dataset.job)); return %s.every(j => s.has(j)) ? Array.from(s) : null; })()"
            % json.dumps(want), 20)
        check("the jobs table shows " + ", ".join(want), bool(shown),
              "rows: %s" % page.eval("Array.from(document.querySelectorAll('#jobs tbody tr')).map(r => r.textContent)"))

        look = ("(() => { const c = ['chart-rate', 'chart-lag', 'chart-wm'].map(id => document.getElementById(id));"
                " return { points: c.map(x => Number(x.dataset.points || 0)), pixels: c.map(x => x.toDataURL()),"
                " draws: window.tide.draws,"
                " records: window.tide.jobs.map(j => j.versions.reduce((a, v) => a + v.records_in, 0)) }; })()")
        a = page.eval(look)
        time.sleep(args.wait)
        b = page.eval(look)
        digest = lambda l: [hashlib.sha1(x.encode()).hexdigest()[:10] for x in l]
        check("the charts get more points", all(y > x for x, y in zip(a["points"], b["points"])),
              "points %s then %s" % (a["points"], b["points"]))
        check("the charts are redrawn with new pixels", b["draws"] > a["draws"] and
              all(x != y for x, y in zip(digest(a["pixels"]), digest(b["pixels"]))),
              "draws %s then %s, pixels %s then %s" % (a["draws"], b["draws"], digest(a["pixels"]), digest(b["pixels"])))
        check("the records read grow while the generator runs", sum(b["records"]) > sum(a["records"]),
              "records in %s then %s" % (a["records"], b["records"]))
        rows = page.wait_for("document.querySelectorAll('#results tbody tr').length", 20)
        check("the result table of %s fills" % want[0], bool(rows),
              page.eval("document.getElementById('result-info').textContent"))
        text = page.eval("document.querySelector('#jobs tbody').textContent")
        check("the table shows a state", any(s in (text or "") for s in ("live", "catching-up", "caught-up")), text)

        shot = page.call("Page.captureScreenshot", format="png", captureBeyondViewport=False)
        os.makedirs(os.path.dirname(os.path.abspath(args.screenshot)), exist_ok=True)
        with open(args.screenshot, "wb") as f:
            f.write(base64.b64decode(shot["data"]))
        check("a screenshot is saved", os.path.getsize(args.screenshot) > 10000, "too small")
        # events that arrived while we slept
        page.call("Runtime.evaluate", expression="1")
        errs = page.errors()
        check("no console error, exception or failed request", not errs, "; ".join(errs[:5]))
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(profile, ignore_errors=True)
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
