#!/usr/bin/env python3
"""provider-workloads at scale: the phases of `make bench-provider-scale`.

Run by scripts/bench-provider-scale.sh, which starts the control plane (with
an audit log of the provider's own requests) and loads the CRDs. Phases:

  create    N Workspaces and M AnsibleRuns exist before the provider starts;
            it starts (long poll) and creates them all (tofu apply of a module
            with no resources, a playbook with one debug task): time to Ready.
  rest      once nothing is queued or running: the provider's API requests
            (audit log) and RSS over a window.
  single    one reconcile at a time on the idle provider (an annotation
            changed): its wall time against the OpenTofu / ansible-playbook
            processes' own (the wrappers' log).
  restart   the provider stopped and started again (long poll): time until
            every object has been reconciled once (each Workspace planned,
            each AnsibleRun checked), RSS and CPU meanwhile, requests made.
  rest      again, after the resync.
  default   (DEFAULT_POLL=1) restarted with the default --poll 10m
            --poll-jitter 1m: after its first pass, the requests over a
            window (a full poll period covers every object once).

With --paused (PAUSED=1) only what the cache costs is measured, in minutes
whatever the count: the objects are created paused (crossplane.io/paused),
each with the ProviderConfigUsage a reconcile would have made and a status of
the shape a Ready one has; the provider starts, reconciles each once (marks it
paused: no run) and rests: its RSS and requests at rest.

Prints a table of figures against the targets of issue 21.
"""
import argparse
import collections
import datetime
import http.client
import json
import os
import re
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import threading
import time
import urllib.request

WS_GROUP = "terraform.workloads.terraforming.io"
AR_GROUP = "ansible.workloads.terraforming.io"
VERSION = "v1alpha1"
STATE_NS = "bench-state"
USER = "provider-workloads"
UID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"

MODULE = 'output "greeting" {\n  value = "hello"\n}\n'
PLAYBOOK = """- hosts: localhost
  gather_facts: false
  tasks:
    - ansible.builtin.debug:
        msg: hello
"""


def log(msg):
    print(f"bench-provider-scale: {msg}", file=sys.stderr, flush=True)


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def now():
    return time.time()


def iso(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%H:%M:%S")


def parse_ts(s):
    """RFC 3339 with a Z (kube-apiserver's micro- and spdlog's milliseconds)."""
    s = s.rstrip("Z")
    if "." in s:
        base, frac = s.split(".")
        frac = (frac + "000000")[:6]
        s = f"{base}.{frac}"
        fmt = "%Y-%m-%dT%H:%M:%S.%f"
    else:
        fmt = "%Y-%m-%dT%H:%M:%S"
    return datetime.datetime.strptime(s, fmt).replace(tzinfo=datetime.timezone.utc).timestamp()


class Api:
    """kube-apiserver as the admin user (not audited): keep-alive HTTPS."""

    def __init__(self, state):
        pki = os.path.join(state, "pki")
        with open(os.path.join(state, "apiserver.url")) as f:
            url = f.read().strip()
        self.host, self.port = url.removeprefix("https://").split(":")
        self.ctx = ssl.create_default_context(cafile=os.path.join(pki, "ca.crt"))
        self.ctx.load_cert_chain(os.path.join(pki, "admin.crt"), os.path.join(pki, "admin.key"))
        self.local = threading.local()

    def conn(self):
        c = getattr(self.local, "conn", None)
        if c is None:
            c = http.client.HTTPSConnection(self.host, int(self.port), context=self.ctx, timeout=60)
            self.local.conn = c
        return c

    def call(self, method, path, body=None, content_type="application/json"):
        data = json.dumps(body).encode() if body is not None else None
        for attempt in range(5):
            c = self.conn()
            try:
                c.request(method, path, body=data,
                          headers={"Content-Type": content_type} if data else {})
                r = c.getresponse()
                payload = r.read()
            except (http.client.HTTPException, OSError):
                c.close()
                self.local.conn = None
                time.sleep(0.2 * (attempt + 1))
                continue
            if r.status == 429 or r.status >= 500:
                time.sleep(0.5 * (attempt + 1))
                continue
            return r.status, (json.loads(payload) if payload else {})
        raise RuntimeError(f"{method} {path}: no answer")

    def must(self, method, path, body=None, ok=(200, 201), **kw):
        status, out = self.call(method, path, body, **kw)
        if status not in ok:
            raise RuntimeError(f"{method} {path}: {status} {out.get('message', out)}")
        return out


# The status of a Ready object as the provider writes it (the cache's share
# of a real one), for the objects of --paused.
def ready_status(kind):
    t = "2026-12-06T12:00:00Z"
    conditions = [{"type": "Ready", "status": "True", "reason": "Available",
                   "lastTransitionTime": t, "observedGeneration": 1},
                  {"type": "Synced", "status": "True", "reason": "ReconcileSuccess",
                   "lastTransitionTime": t, "observedGeneration": 1}]
    if kind == "Workspace":
        at = {"outputs": {"greeting": "hello"}, "checksum": "0" * 64,
              "plan": {"plannedAt": t, "add": 0, "change": 0, "destroy": 0}}
    else:
        at = {"lastRun": {"at": t, "ok": 1, "changed": 0, "failed": 0}, "checksum": "0" * 64}
    return {"conditions": conditions, "atProvider": at}


def create_objects(api, n_ws, n_ar, paused=False):
    api.must("POST", "/api/v1/namespaces",
             {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": STATE_NS}})
    api.must("POST", f"/api/v1/namespaces/{STATE_NS}/secrets",
             {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "state-key"},
              "stringData": {"key": "correct-horse-battery-staple"}})
    api.must("POST", f"/apis/{WS_GROUP}/{VERSION}/providerconfigs",
             {"apiVersion": f"{WS_GROUP}/{VERSION}", "kind": "ProviderConfig",
              "metadata": {"name": "default"},
              "spec": {"state": {"namespace": STATE_NS,
                                 "encryptionKeySecretRef": {"namespace": STATE_NS,
                                                            "name": "state-key", "key": "key"}}}})
    jobs = []
    for i in range(n_ws):
        jobs.append((f"/apis/{WS_GROUP}/{VERSION}/workspaces",
                     {"apiVersion": f"{WS_GROUP}/{VERSION}", "kind": "Workspace",
                      "metadata": {"name": f"ws-{i:05d}"},
                      "spec": {"providerConfigRef": {"name": "default"},
                               "forProvider": {"source": "Inline", "inlineFormat": "HCL",
                                               "module": MODULE}}}))
    for i in range(n_ar):
        jobs.append((f"/apis/{AR_GROUP}/{VERSION}/ansibleruns",
                     {"apiVersion": f"{AR_GROUP}/{VERSION}", "kind": "AnsibleRun",
                      "metadata": {"name": f"ar-{i:05d}"},
                      "spec": {"providerConfigRef": {"name": "default"},
                               "forProvider": {"source": "Inline", "playbook": PLAYBOOK}}}))
    if paused:
        for _, body in jobs:
            body["metadata"]["annotations"] = {"crossplane.io/paused": "true"}
    uids = {}
    lock = threading.Lock()

    def worker(part):
        for path, body in part:
            out = api.must("POST", path, body)
            with lock:
                uids[out["metadata"]["uid"]] = out["metadata"]["name"]
            if not paused:
                continue
            meta = out["metadata"]
            out["status"] = ready_status(out["kind"])
            api.must("PUT", f"{path}/{meta['name']}/status", out, ok=(200,))
            # Both kinds' usages are of the Workspace group's kind.
            api.must("POST", f"/apis/{WS_GROUP}/{VERSION}/providerconfigusages",
                     {"apiVersion": f"{WS_GROUP}/{VERSION}", "kind": "ProviderConfigUsage",
                      "metadata": {"name": meta["uid"],
                                   "labels": {"crossplane.io/provider-config": "default"},
                                   "ownerReferences": [{
                                       "apiVersion": out["apiVersion"], "kind": out["kind"],
                                       "name": meta["name"], "uid": meta["uid"],
                                       "controller": True, "blockOwnerDeletion": True}]},
                      "providerConfigRef": {"name": "default"},
                      "resourceRef": {"apiVersion": out["apiVersion"], "kind": out["kind"],
                                      "name": meta["name"]}})

    threads = [threading.Thread(target=worker, args=(jobs[k::8],)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if len(uids) != len(jobs):
        raise RuntimeError(f"created {len(uids)} of {len(jobs)} objects")
    return uids


def setup_wrappers(args):
    """The timing wrappers of tofu and ansible-playbook the provider runs
    (args.tofu_wrapper, args.ansible_wrapper); returns their log's path."""
    timings = os.path.join(args.work, "tools.log")
    args.tofu_wrapper = os.path.join(args.work, "tofu")
    args.ansible_wrapper = os.path.join(args.work, "ansible-playbook")
    write_wrapper(args.tofu_wrapper, args.tofu, timings)
    write_wrapper(args.ansible_wrapper, args.ansible_playbook, timings)
    return timings


def write_wrapper(path, real, timings):
    """A wrapper that runs `real` and logs start, end, exit code, folder and
    arguments (bash: its own start-up, a few milliseconds, counts as the
    provider's)."""
    with open(path, "w") as f:
        f.write(f"""#!/bin/bash
s=$EPOCHREALTIME
{shlex_quote(real)} "$@"
rc=$?
e=$EPOCHREALTIME
printf '%s %s %s %s %s\\n' "$s" "$e" "$rc" "$PWD" "$*" >>{shlex_quote(timings)}
exit $rc
""")
    os.chmod(path, 0o755)


def wrapper_cost(work, n=50):
    """What a wrapper adds to an invocation outside the span it logs (bash
    starting, the log line): the outer wall time of the wrapper around
    /bin/true minus the inner span, per call."""
    path, timings = os.path.join(work, "calibrate"), os.path.join(work, "calibrate.log")
    write_wrapper(path, "/bin/true", timings)
    outer = 0.0
    for _ in range(n):
        t = time.perf_counter()
        subprocess.run([path], check=True)
        outer += time.perf_counter() - t
    inner = 0.0
    with open(timings) as f:
        for line in f:
            s, e = line.split()[:2]
            inner += float(e) - float(s)
    # (Starting the tool itself is in the inner span: bash does it, where the
    # provider would; the same cost either way.)
    return max(0.0, (outer - inner) / n)


def shlex_quote(s):
    import shlex
    return shlex.quote(s)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


LIVES = []  # every Provider started, stopped on the way out whatever happens


class Provider:
    """One life of provider-workloads: the process, its log, an RSS and CPU
    sampler."""

    def __init__(self, args, name, poll, jitter):
        LIVES.append(self)
        self.port = free_port()
        self.log_path = os.path.join(args.work, f"provider-{name}.log")
        argv = [args.provider, f"--kubeconfig={args.provider_kubeconfig}",
                f"--max-reconcile-rate={args.rate}",
                f"--work-dir={os.path.join(args.work, 'work')}",
                f"--cache-dir={os.path.join(args.work, 'cache')}",
                f"--state-namespace={STATE_NS}", f"--tofu={args.tofu_wrapper}",
                f"--ansible-playbook={args.ansible_wrapper}",
                f"--metrics-address=127.0.0.1:{self.port}", "--debug"]
        if poll:
            argv.append(f"--poll={poll}")
        if jitter:
            argv.append(f"--poll-jitter={jitter}")
        self.argv = argv
        self.started = now()
        self.out = open(self.log_path, "w")
        self.proc = subprocess.Popen(argv, stdout=self.out, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        self.samples = []  # (time, rss kB)
        self.hz = os.sysconf("SC_CLK_TCK")
        self.stop_sampling = threading.Event()
        self.sampler = threading.Thread(target=self.sample, daemon=True)
        self.sampler.start()
        self.log_offset = 0
        self.reconciles = []  # (end time, controller, key, seconds, outcome)

    def sample(self):
        while not self.stop_sampling.is_set():
            rss = self.status_field("VmRSS")
            if rss is not None:
                self.samples.append((now(), rss))
            self.stop_sampling.wait(0.5)

    def status_field(self, field):
        try:
            with open(f"/proc/{self.proc.pid}/status") as f:
                for line in f:
                    if line.startswith(field + ":"):
                        return int(line.split()[1])
        except OSError:
            return None
        return None

    def cpu(self):
        """(own, children's) CPU seconds: utime+stime, cutime+cstime."""
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        own = (int(fields[11]) + int(fields[12])) / self.hz
        children = (int(fields[13]) + int(fields[14])) / self.hz
        return own, children

    def rss_between(self, t0, t1):
        vals = [r for t, r in self.samples if t0 <= t <= t1]
        return vals

    def metrics(self):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=5) as r:
                text = r.read().decode()
        except OSError:
            return None
        out = collections.defaultdict(float)
        for line in text.splitlines():
            if not line or line.startswith("#"):
                continue
            m = re.match(r'^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)', line)
            if m:
                out[(m.group(1), m.group(2) or "")] = float(m.group(3))
        return out

    def ready(self):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/readyz", timeout=5) as r:
                return r.status == 200
        except OSError:
            return False

    RECONCILED = re.compile(
        r"^(\S+Z) debug (managed/\S+): reconciled (\S+) in ([\d.]+)s: (\S+)$")

    def read_log(self):
        with open(self.log_path, errors="replace") as f:
            f.seek(self.log_offset)
            chunk = f.read()
        # Only whole lines.
        cut = chunk.rfind("\n") + 1
        self.log_offset += len(chunk[:cut].encode(errors="replace"))
        for line in chunk[:cut].splitlines():
            m = self.RECONCILED.match(line)
            if m:
                self.reconciles.append((parse_ts(m.group(1)), m.group(2), m.group(3),
                                        float(m.group(4)), m.group(5)))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(120)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.stop_sampling.set()
        self.out.close()
        self.read_log()

    def alive(self):
        if self.proc.poll() is not None:
            raise RuntimeError(f"the provider exited with {self.proc.returncode}; see "
                               f"{self.log_path}:\n" + tail(self.log_path))


def tail(path, n=30):
    with open(path, errors="replace") as f:
        return "".join(f.readlines()[-n:])


def gauge_sum(metrics, name):
    return sum(v for (n, _), v in metrics.items() if n == name)


def managed_reconciles(metrics):
    return sum(v for (n, labels), v in metrics.items()
               if n == "controller_runtime_reconcile_total" and "managed/" in labels)


def queue_depth(metrics):
    return sum(v for (n, _), v in metrics.items() if n == "workqueue_depth")


def wait_all_ready(p, total, what):
    """Until every managed resource is Ready and Synced (the provider's own
    gauges, from its cache: no request is made for them)."""
    last_print = 0
    while True:
        p.alive()
        m = p.metrics()
        if m is not None:
            ready = gauge_sum(m, "crossplane_managed_resource_ready")
            synced = gauge_sum(m, "crossplane_managed_resource_synced")
            if ready >= total and synced >= total:
                return now()
            if now() - last_print >= 30:
                rate = ready / max(now() - p.started, 1e-9)
                log(f"{what}: {int(ready)}/{total} ready ({rate:.2f}/s), load {loadavg()}")
                last_print = now()
        time.sleep(1)


def wait_quiet(p, settle=15, limit=6 * 3600):
    """Until nothing is queued and no reconcile has finished for `settle`
    seconds (a reconcile in flight ends within that for trivial runs). After
    the create phase every object is observed once more (after a create the
    object is requeued through the rate limiter): at 2,000 objects that pass
    alone takes about as long as the create, so the limit is hours."""
    last_total, last_change = None, now()
    deadline = now() + limit
    while now() < deadline:
        p.alive()
        m = p.metrics()
        if m is not None:
            total = managed_reconciles(m)
            if total != last_total:
                last_total, last_change = total, now()
            elif queue_depth(m) == 0 and now() - last_change >= settle:
                return
        time.sleep(1)
    raise RuntimeError("the provider did not come to rest")


def wait_each_reconciled(p, names, what):
    """Until every object has finished one reconcile in this life of the
    provider (not counting failures); returns the time the last one did."""
    pending = set(names)
    seen = {}
    last_print = 0
    while pending:
        p.alive()
        p.read_log()
        for end, _, key, _, outcome in p.reconciles:
            name = key.rsplit("/", 1)[-1]
            if outcome != "requeue" and name in pending:
                pending.discard(name)
                seen[name] = end
        if now() - last_print >= 30:
            log(f"{what}: {len(names) - len(pending)}/{len(names)} reconciled, load {loadavg()}")
            last_print = now()
        if pending:
            time.sleep(1)
    return max(seen.values())


class Audit:
    """The audit log's requests of the provider's user, by auditID."""

    def __init__(self, path):
        self.path = path

    def requests(self, t0, t1):
        seen = {}
        with open(self.path, errors="replace") as f:
            for line in f:
                try:
                    e = json.loads(line)
                except ValueError:
                    continue
                if e.get("user", {}).get("username") != USER:
                    continue
                t = parse_ts(e["requestReceivedTimestamp"])
                if t0 <= t < t1:
                    seen[e["auditID"]] = e
        return list(seen.values())


def describe(requests):
    by = collections.Counter()
    for e in requests:
        ref = e.get("objectRef", {})
        res = ref.get("resource", e.get("requestURI", "?"))
        if ref.get("subresource"):
            res += "/" + ref["subresource"]
        by[f"{e['verb']} {res}"] += 1
    return ", ".join(f"{k} {v}" for k, v in by.most_common(8))


def server_times(requests):
    """The API server's time for each kind of the provider's requests, from
    the audit log (received to response complete): {kind: (count, median
    ms)}. A get with a resourceVersion was answered from the watch cache."""
    by = collections.defaultdict(list)
    for e in requests:
        ref = e.get("objectRef", {})
        res = ref.get("resource", "?")
        if ref.get("subresource"):
            res += "/" + ref["subresource"]
        verb = e["verb"]
        if verb in ("watch", "list"):
            continue
        if verb == "get" and "resourceVersion=" in e.get("requestURI", ""):
            verb = "get (cache)"
        by[f"{verb} {res}"].append(
            (parse_ts(e["stageTimestamp"]) - parse_ts(e["requestReceivedTimestamp"])) * 1e3)
    return {k: (len(v), statistics.median(v)) for k, v in sorted(by.items())}


def read_to_first_tool(requests, tool_runs):
    """For each read of a Workspace, the time to the start of the first tool
    run for it (`init`) within 0.1 s, in ms: the requests and the work a
    reconcile does before OpenTofu starts."""
    spans = []
    for e in requests:
        ref = e.get("objectRef", {})
        if e["verb"] != "get" or ref.get("resource") != "workspaces":
            continue
        t = parse_ts(e["requestReceivedTimestamp"])
        starts = [s for s, _, _ in tool_runs.get(ref.get("name", ""), []) if t < s < t + 0.1]
        if starts:
            spans.append((min(starts) - t) * 1e3)
    return spans


def rest_window(p, audit, seconds, what):
    wait_quiet(p)
    t0 = now()
    log(f"{what}: at rest; counting requests for {seconds}s")
    time.sleep(seconds)
    t1 = now()
    time.sleep(2)  # the audit log's last lines
    reqs = audit.requests(t0, t1)
    rss = p.rss_between(t0, t1)
    return {"requests": len(reqs), "seconds": t1 - t0, "per_second": len(reqs) / (t1 - t0),
            "breakdown": describe(reqs), "rss_max_mb": max(rss) / 1024,
            "rss_mean_mb": statistics.mean(rss) / 1024, "load": loadavg()}


class Tools:
    """The wrappers' log: every OpenTofu / ansible-playbook invocation."""

    def __init__(self, path, uids):
        self.path = path
        self.uids = uids

    def runs(self):
        out = collections.defaultdict(list)  # name -> [(start, end, argv)]
        if not os.path.exists(self.path):
            return out
        with open(self.path, errors="replace") as f:
            for line in f:
                parts = line.rstrip("\n").split(" ", 4)
                if len(parts) < 4:
                    continue
                start, end = float(parts[0]), float(parts[1])
                where = parts[3] + " " + (parts[4] if len(parts) > 4 else "")
                for m in re.finditer(UID, where):
                    name = self.uids.get(m.group(0))
                    if name:
                        out[name].append((start, end, parts[4] if len(parts) > 4 else ""))
                        break
        return out


def split_reconciles(reconciles, tool_runs, prefix, t0=0.0, t1=float("inf")):
    """Each reconcile of a `prefix` object that ran at least one tool, in
    [t0, t1): (wall, tools' wall, tool invocations). The log's times are in
    milliseconds; a tool run belongs to the reconcile whose span holds it."""
    out = []
    for end, _, key, seconds, _ in reconciles:
        name = key.rsplit("/", 1)[-1]
        if not name.startswith(prefix) or not (t0 <= end < t1):
            continue
        start = end - seconds
        runs = [(s, e) for s, e, _ in tool_runs.get(name, []) if s >= start - 0.002 and
                e <= end + 0.002]
        if not runs:
            continue
        tools = sum(e - s for s, e in runs)
        out.append((seconds, tools, len(runs)))
    return out


def pct(values, q):
    values = sorted(values)
    if not values:
        return float("nan")
    k = min(len(values) - 1, max(0, int(round(q / 100 * (len(values) - 1)))))
    return values[k]


def overhead_summary(items, extra):
    """`extra`: the wrappers' own cost per invocation, taken off the
    provider's share."""
    if not items:
        return None
    walls = [w for w, _, _ in items]
    tools = [t for _, t, _ in items]
    over = [max(0.0, w - t - n * extra) for w, t, n in items]
    ratio = [o / t for o, (_, t, _) in zip(over, items) if t > 0]
    return {"n": len(items), "wall_ms": statistics.median(walls) * 1e3,
            "tools_ms": statistics.median(tools) * 1e3,
            "overhead_ms": statistics.median(over) * 1e3, "overhead_p90_ms": pct(over, 90) * 1e3,
            "ratio": statistics.median(ratio), "ratio_p90": pct(ratio, 90),
            "invocations": statistics.median([n for _, _, n in items]),
            "raw_overhead_ms": statistics.median([w - t for w, t, _ in items]) * 1e3}


def single_runs(api, p, names, kind_path, count):
    """One reconcile at a time on the idle provider: a changed annotation
    (part of the desired state) queues the object; the next is changed once
    the reconcile is logged."""
    p.read_log()
    t0 = now()
    for i, name in enumerate(names[:count]):
        before = len(p.reconciles)
        api.must("PATCH", f"{kind_path}/{name}",
                 {"metadata": {"annotations": {"bench.terraforming.io/poke": str(i)}}},
                 content_type="application/merge-patch+json")
        deadline = now() + 300
        while now() < deadline:
            p.alive()
            p.read_log()
            if any(k.rsplit("/", 1)[-1] == name for _, _, k, _, _ in p.reconciles[before:]):
                break
            time.sleep(0.05)
        time.sleep(0.5)
    return t0, now()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--provider", required=True)
    ap.add_argument("--tofu", required=True)
    ap.add_argument("--ansible-playbook", required=True)
    ap.add_argument("--state", required=True)
    ap.add_argument("--provider-kubeconfig", required=True)
    ap.add_argument("--audit-log", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--workspaces", type=int, default=1000)
    ap.add_argument("--ansible-runs", type=int, default=1000)
    ap.add_argument("--rate", type=int, default=2)
    ap.add_argument("--rest-seconds", type=int, default=120)
    ap.add_argument("--long-poll", default="24h")
    ap.add_argument("--default-poll", type=int, default=1)
    ap.add_argument("--default-poll-seconds", type=int, default=600)
    ap.add_argument("--single", type=int, default=10)
    ap.add_argument("--paused", type=int, default=0)
    args = ap.parse_args()
    timings = setup_wrappers(args)
    if args.paused:
        return cache_only(args, timings)

    api = Api(args.state)
    audit = Audit(args.audit_log)
    total = args.workspaces + args.ansible_runs
    started = now()
    log(f"creating {args.workspaces} Workspaces and {args.ansible_runs} AnsibleRuns")
    uids = create_objects(api, args.workspaces, args.ansible_runs)
    names = sorted(uids.values())
    tools = Tools(timings, uids)
    fig = {"load_start": loadavg()}

    def save():  # after each phase: a later failure keeps what was measured
        with open(os.path.join(args.work, "figures.json"), "w") as f:
            json.dump(fig, f, indent=1)

    # create
    p = Provider(args, "create", args.long_poll, "0s")
    t_ready = wait_all_ready(p, total, "create")
    fig["create_s"] = t_ready - p.started
    fig["create_requests"] = len(audit.requests(p.started, t_ready))
    fig["create_rss_max_mb"] = max(r for _, r in p.samples) / 1024
    fig["create_load"] = loadavg()
    log(f"create: all {total} Ready in {fig['create_s']:.0f}s")
    save()

    # rest
    fig["rest1"] = rest_window(p, audit, args.rest_seconds, "rest after create")
    log(f"rest after create: {fig['rest1']}")
    save()

    # single
    extra = wrapper_cost(args.work)
    fig["wrapper_ms"] = extra * 1e3
    ws_names = [n for n in names if n.startswith("ws-")]
    ar_names = [n for n in names if n.startswith("ar-")]
    s0, s1 = single_runs(api, p, ws_names, f"/apis/{WS_GROUP}/{VERSION}/workspaces", args.single)
    a0, a1 = single_runs(api, p, ar_names, f"/apis/{AR_GROUP}/{VERSION}/ansibleruns", args.single)
    p.stop()
    runs = tools.runs()
    for key, prefix, t0, t1 in (("single_ws", "ws-", s0, s1), ("single_ar", "ar-", a0, a1),
                                ("create_ws", "ws-", 0, t_ready), ("create_ar", "ar-", 0, t_ready)):
        fig[key] = overhead_summary(split_reconciles(p.reconciles, runs, prefix, t0, t1), extra)
    single = audit.requests(s0, s1)
    fig["single_ws_server_ms"] = server_times(single)
    spans = read_to_first_tool(single, runs)
    if spans:
        fig["single_ws_read_to_init_ms"] = {"n": len(spans), "median": statistics.median(spans),
                                            "min": min(spans), "max": max(spans)}
    log(f"single: {fig['single_ws']} {fig['single_ar']}")
    save()

    # restart
    p = Provider(args, "restart", args.long_poll, "0s")
    cpu0 = (0.0, 0.0)
    t_synced = None
    while t_synced is None:
        p.alive()
        if p.ready():
            t_synced = now()
        else:
            time.sleep(0.1)
    t_all = wait_each_reconciled(p, names, "restart")
    own, children = p.cpu()
    fig["restart_synced_s"] = t_synced - p.started
    fig["restart_s"] = t_all - p.started
    fig["restart_rate"] = total / fig["restart_s"]
    fig["restart_rss_max_mb"] = max(r for t, r in p.samples if t <= t_all + 1) / 1024
    fig["restart_hwm_mb"] = (p.status_field("VmHWM") or 0) / 1024
    fig["restart_cpu_own_s"] = own - cpu0[0]
    fig["restart_cpu_children_s"] = children - cpu0[1]
    reqs = audit.requests(p.started, t_all)
    fig["restart_requests"] = len(reqs)
    fig["restart_breakdown"] = describe(reqs)
    fig["restart_load"] = loadavg()
    log(f"restart: every object reconciled in {fig['restart_s']:.0f}s")
    save()
    fig["rest2"] = rest_window(p, audit, args.rest_seconds, "rest after restart")
    log(f"rest after restart: {fig['rest2']}")
    p.stop()
    runs = tools.runs()
    for key, prefix in (("restart_ws", "ws-"), ("restart_ar", "ar-")):
        fig[key] = overhead_summary(split_reconciles(p.reconciles, runs, prefix, 0, t_all + 1),
                                    extra)

    # default poll
    if args.default_poll:
        p = Provider(args, "default-poll", None, None)
        t_first = wait_each_reconciled(p, names, "default poll, first pass")
        t0 = now()
        log(f"default poll: counting requests for {args.default_poll_seconds}s")
        time.sleep(args.default_poll_seconds)
        t1 = now()
        time.sleep(2)
        p.read_log()
        reqs = audit.requests(t0, t1)
        n = sum(1 for end, _, _, _, _ in p.reconciles if t0 <= end < t1)
        rss = p.rss_between(t0, t1)
        fig["default"] = {"first_pass_s": t_first - p.started, "requests": len(reqs),
                          "seconds": t1 - t0, "per_second": len(reqs) / (t1 - t0),
                          "reconciles": n, "breakdown": describe(reqs),
                          "rss_max_mb": max(rss) / 1024, "load": loadavg()}
        p.stop()

    fig["total_s"] = now() - started
    save()
    report(args, fig)


def cache_only(args, timings):
    """--paused: the cache's cost alone (see the module's docstring)."""
    api = Api(args.state)
    audit = Audit(args.audit_log)
    total = args.workspaces + args.ansible_runs
    log(f"creating {args.workspaces} Workspaces and {args.ansible_runs} AnsibleRuns, paused, "
        "with their usages")
    uids = create_objects(api, args.workspaces, args.ansible_runs, paused=True)
    load = loadavg()
    p = Provider(args, "paused", args.long_poll, "0s")
    t_all = wait_each_reconciled(p, sorted(uids.values()), "paused")
    peak = max(r for t, r in p.samples if t <= t_all + 1) / 1024
    rest = rest_window(p, audit, args.rest_seconds, "rest, paused")
    anon = (p.status_field("RssAnon") or 0) / 1024
    p.stop()
    if os.path.exists(timings) and os.path.getsize(timings) > 0:
        raise RuntimeError("a paused object ran OpenTofu or Ansible")
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    print(f"provider-workloads, cache only: {args.workspaces} Workspaces + {args.ansible_runs} "
          f"AnsibleRuns (paused) and their {total} usages, --max-reconcile-rate {args.rate}, "
          f"{os.cpu_count()} cores, {date}; load average {load} / {rest['load']}")
    print(f"  every object reconciled once (marked paused) in {t_all - p.started:.0f} s, "
          f"peak RSS meanwhile {peak:.1f} MB")
    print(f"  RSS at rest: {rest['rss_max_mb']:.1f} MB max (RssAnon {anon:.1f} MB), "
          f"target < 50 MB: {'yes' if rest['rss_max_mb'] < 50 else 'NO'}")
    print(f"  API requests at rest: {rest['per_second']:.3f}/s ({rest['requests']} in "
          f"{rest['seconds']:.0f} s: {rest['breakdown'] or 'none'})")


def report(args, fig):
    total = args.workspaces + args.ansible_runs
    per_reconcile = fig["restart_requests"] / total
    rows = []

    def row(name, value, target="", holds=""):
        rows.append((name, value, target, holds))

    def yes(ok):
        return "yes" if ok else "NO"

    r1, r2 = fig["rest1"], fig["rest2"]
    row("create all (initial apply of each)", f"{fig['create_s']:.0f} s "
        f"({total / fig['create_s']:.2f}/s), peak RSS {fig['create_rss_max_mb']:.1f} MB")
    row("idle RSS after create (max in window)", f"{r1['rss_max_mb']:.1f} MB", "< 50 MB",
        yes(r1["rss_max_mb"] < 50))
    row("idle RSS after the resync (max in window)", f"{r2['rss_max_mb']:.1f} MB", "< 50 MB",
        yes(r2["rss_max_mb"] < 50))
    row("RSS during the full resync (peak)", f"{fig['restart_rss_max_mb']:.1f} MB "
        f"(VmHWM {fig['restart_hwm_mb']:.1f} MB)")
    row(f"API requests at rest, --poll {args.long_poll} (after create)",
        f"{r1['per_second']:.3f}/s ({r1['requests']} in {r1['seconds']:.0f} s)", "< 1/s",
        yes(r1["per_second"] < 1))
    row(f"API requests at rest, --poll {args.long_poll} (after resync)",
        f"{r2['per_second']:.3f}/s ({r2['requests']} in {r2['seconds']:.0f} s)", "< 1/s",
        yes(r2["per_second"] < 1))
    need = total / 600
    if "default" in fig:
        d = fig["default"]
        row("API requests, default --poll 10m (after its first pass)",
            f"{d['per_second']:.2f}/s ({d['requests']} in {d['seconds']:.0f} s, "
            f"{d['reconciles']} reconciles)", "< 1/s", yes(d["per_second"] < 1))
    row("  re-observation --poll 10m asks for (derived)",
        f"{need:.2f} reconciles/s x {per_reconcile:.1f} requests = {need * per_reconcile:.2f}/s; "
        f"throughput {fig['restart_rate']:.2f}/s", "< 1/s",
        yes(need * per_reconcile < 1) + ("" if fig["restart_rate"] >= need else
                                          " (never idle: throughput below it)"))
    row("time to reconcile all after a restart",
        f"{fig['restart_s']:.0f} s ({fig['restart_rate']:.2f}/s; informers synced in "
        f"{fig['restart_synced_s']:.1f} s)")
    row("  requests per reconcile in the resync", f"{per_reconcile:.1f} "
        f"({fig['restart_requests']} in all)")
    row("  CPU in the resync: provider / its children",
        f"{fig['restart_cpu_own_s']:.0f} s / {fig['restart_cpu_children_s']:.0f} s "
        f"({fig['restart_cpu_own_s'] / total * 1e3:.1f} ms of the provider's own per reconcile)")
    for key, what, target in (("single_ws", "overhead around one tofu run, idle (median)", True),
                              ("single_ar", "overhead around one ansible run, idle (median)",
                               False),
                              ("restart_ws", "overhead around one tofu run, in the resync", True),
                              ("restart_ar", "overhead around one ansible run, in the resync",
                               False),
                              ("create_ws", "overhead around one tofu create reconcile", True)):
        s = fig.get(key)
        if not s:
            continue
        row(what, f"{s['overhead_ms']:.0f} ms = {s['ratio'] * 100:.1f}% of the runs' "
            f"{s['tools_ms']:.0f} ms (reconcile {s['wall_ms']:.0f} ms; p90 "
            f"{s['ratio_p90'] * 100:.1f}%; {s['invocations']:.0f} processes; n={s['n']})",
            "< 5%" if target else "", yes(s["ratio"] < 0.05) if target else "")
    span = fig.get("single_ws_read_to_init_ms")
    if span:
        row("  read of the Workspace to the start of init, idle (median)",
            f"{span['median']:.2f} ms ({span['min']:.2f} to {span['max']:.2f}; n={span['n']})")

    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    print(f"provider-workloads at scale: {args.workspaces} Workspaces + {args.ansible_runs} "
          f"AnsibleRuns, --max-reconcile-rate {args.rate}, {os.cpu_count()} cores, {date}")
    print(f"load average: start {fig['load_start']}, after create {fig['create_load']}, "
          f"after the resync {fig['restart_load']}, in the rest windows {r1['load']} / "
          f"{r2['load']}; whole run {fig['total_s'] / 60:.0f} min")
    w = max(len(r[0]) for r in rows)
    v = max(len(r[1]) for r in rows)
    print(f"{'figure':<{w}}  {'value':<{v}}  {'target':<7} holds")
    for name, value, target, holds in rows:
        print(f"{name:<{w}}  {value:<{v}}  {target:<7} {holds}")
    print(f"overheads are medians, less the timing wrapper's own {fig['wrapper_ms']:.1f} ms per "
          "process; p90 of the ratio")
    print(f"requests at rest (after create): {r1['breakdown']}")
    print(f"requests at rest (after resync): {r2['breakdown']}")
    print(f"requests in the resync: {fig['restart_breakdown']}")
    if fig.get("single_ws_server_ms"):
        print("the API server's time per request, idle Workspace reconciles (median): " +
              ", ".join(f"{k} {ms:.2f} ms (n={n})"
                        for k, (n, ms) in fig["single_ws_server_ms"].items()))
    if "default" in fig:
        print(f"requests at default poll: {fig['default']['breakdown']}")


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    signal.signal(signal.SIGHUP, lambda *_: sys.exit(1))
    try:
        main()
    finally:
        for life in LIVES:
            if life.proc.poll() is None:
                life.proc.kill()
                life.proc.wait()
