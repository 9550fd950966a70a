#!/usr/bin/env python3
"""bench/bench.py - the measuring half of scripts/bench.sh (Python 3, stdlib only).

scripts/bench.sh owns the processes that live through the whole run
(PostgreSQL, reflectd) and calls one subcommand per step:

  login                      log the benchmark actors in, write their tokens for wrk
  capture                    run one request of each kind per actor with log_statement=all,
                             turn the logged statements and parameters into pgbench scripts
  wrk NAME LUA CONNS SECS    run wrk against reflectd and measure it
  pgbench NAME KIND CONNS SECS [MODE]  run a captured statement directly against
                             PostgreSQL (MODE: prepared, the default, or extended)
  idle NAME N                hold N idle keep-alive connections, measure reflectd's RSS
  burst NAME                 scenario 1 at 16 connections (bench/openloop.c, closed and open
                             loop), alone, during a login burst and alone again
  load SECS                  measure the machine's background load (other processes)
  set KEY VALUE              record a fact for the report (JSON value or string)
  report                     print the table, write bench/out/results.md

Environment (set by bench.sh): BENCH_OUT, BENCH_DIR, BENCH_HTTP (host:port),
DATABASE_URL, SERVER_PID, PG_PID (postmaster), PG_LOG, BENCH_PASSWORD,
BENCH_FROM / BENCH_TO (YYYY-MM).

CPU figures are % of one core over a run, from /proc/<pid>/stat utime+stime
deltas: reflectd (the server process, all its threads), postgres (this
cluster's postmaster and its children), client (wrk or pgbench, from
getrusage of our children), others (the whole machine from /proc/stat minus
those three: anything else running on the box during the run).
"""
import concurrent.futures
import glob
import hashlib
import http.client
import json
import os
import re
import resource
import signal
import socket
import subprocess
import sys
import time
import uuid

OUT = os.environ.get("BENCH_OUT", "bench/out")
BENCH_DIR = os.environ.get("BENCH_DIR", "bench")
RESULTS = os.path.join(OUT, "results.json")
TICK = os.sysconf("SC_CLK_TCK")
CHILDREN = []  # live subprocesses, stopped on SIGTERM


def on_term(signum, frame):
    for p in CHILDREN:
        if p.poll() is None:
            p.terminate()
    for p in CHILDREN:
        try:
            p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            p.kill()
    sys.exit(128 + signum)


signal.signal(signal.SIGTERM, on_term)
signal.signal(signal.SIGINT, on_term)


def die(msg):
    print(f"bench: {msg}", file=sys.stderr)
    sys.exit(1)


# ---- results file ---------------------------------------------------------


def load_results():
    try:
        with open(RESULTS) as f:
            return json.load(f)
    except FileNotFoundError:
        return {}


def save_result(key, value):
    r = load_results()
    r[key] = value
    tmp = RESULTS + ".tmp"
    with open(tmp, "w") as f:
        json.dump(r, f, indent=1)
    os.replace(tmp, RESULTS)


# ---- /proc measurements ---------------------------------------------------


def proc_stat(pid):
    """The fields of /proc/<pid>/stat after the command name (field 3 is index 0)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            s = f.read()
    except OSError:
        return None
    return s[s.rindex(")") + 2:].split()


def proc_ticks(pid, children=False):
    """utime + stime of a process (all threads), in clock ticks, plus with
    children=True cutime + cstime (its reaped children); None if gone."""
    f = proc_stat(pid)
    if f is None:
        return None
    t = int(f[11]) + int(f[12])  # fields 14 and 15 of proc(5)
    if children:
        t += int(f[13]) + int(f[14])  # fields 16 and 17
    return t


def proc_ppid(pid):
    f = proc_stat(pid)
    return int(f[1]) if f else None


def pg_tree_ticks(postmaster):
    """Ticks of the postmaster (with its reaped children: backends that have
    ended) and of each of its live children, by pid. (Also reflectd's: its
    one child is the hasher process.)"""
    out = {}
    t = proc_ticks(postmaster, children=True)
    if t is not None:
        out[postmaster] = t
    for d in os.listdir("/proc"):
        if d.isdigit() and proc_ppid(int(d)) == postmaster:
            t = proc_ticks(int(d))
            if t is not None:
                out[int(d)] = t
    return out


def machine_busy_ticks():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + (v[4] if len(v) > 4 else 0)
    return sum(v[:8]) - idle


def proc_status_kib(pid, key):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def reset_peak_rss(pid):
    """Writing 5 to clear_refs resets VmHWM (Linux >= 4.0); False if not allowed."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


EXIT_SERVER_GONE = 75  # bench.sh looks at reflectd's log and may restart it and retry


def server_gone():
    for p in CHILDREN:
        if p.poll() is None:
            p.terminate()
            p.wait()
    print("bench: reflectd is gone", file=sys.stderr)
    sys.exit(EXIT_SERVER_GONE)


def check_server():
    """Our reflectd is alive: a reflectd whose parent is bench.sh (as we are its child too;
    on a busy machine a dead server's pid soon belongs to some other process)."""
    pid = int(os.environ["SERVER_PID"])
    try:
        with open(f"/proc/{pid}/comm") as f:
            comm = f.read().strip()
    except OSError:
        comm = None
    # (BENCH_SERVER_PPID: bench.sh's pid, for steps run by hand during BENCH_HOLD)
    parent = int(os.environ.get("BENCH_SERVER_PPID") or os.getppid())
    if comm != "reflectd" or proc_ppid(pid) != parent:  # (bench.sh runs a copy)
        server_gone()


class Meter:
    """CPU of reflectd / postgres / our clients / everything else, and reflectd's peak RSS."""

    def __init__(self):
        self.server = int(os.environ["SERVER_PID"])
        self.pg = int(os.environ["PG_PID"])

    def start(self, extra_clients=()):
        """extra_clients: pids of clients that run across the window (measured via /proc)."""
        self.extra = list(extra_clients)
        self.x0 = {p: proc_ticks(p) or 0 for p in self.extra}
        self.hwm_reset = reset_peak_rss(self.server)
        self.t0 = time.monotonic()
        self.s0 = pg_tree_ticks(self.server)  # reflectd and its hasher process
        self.pg0 = pg_tree_ticks(self.pg)
        self.m0 = machine_busy_ticks()
        ru = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.c0 = ru.ru_utime + ru.ru_stime
        return self

    def stop(self):
        wall = time.monotonic() - self.t0
        check_server()
        s1 = pg_tree_ticks(self.server)
        pg1 = pg_tree_ticks(self.pg)
        m1 = machine_busy_ticks()
        ru = resource.getrusage(resource.RUSAGE_CHILDREN)
        client = ru.ru_utime + ru.ru_stime - self.c0
        for p in self.extra:
            client += ((proc_ticks(p) or self.x0[p]) - self.x0[p]) / TICK
        server = sum(t - self.s0.get(pid, 0) for pid, t in s1.items()) / TICK
        own = s1.get(self.server, 0) - self.s0.get(self.server, 0)  # with reaped hashers
        hasher = server - own / TICK
        # backends that ended during the run are missed (pools keep theirs open)
        pg = sum(t - self.pg0.get(pid, 0) for pid, t in pg1.items()) / TICK
        machine = (m1 - self.m0) / TICK
        others = max(0.0, machine - server - pg - client)
        pct = lambda secs: round(100.0 * secs / wall, 1)
        return {
            "wall_s": round(wall, 2),
            "cpu_reflectd": pct(server),  # with the hasher process
            "cpu_hasher": pct(hasher),
            "cpu_postgres": pct(pg),
            "cpu_client": pct(client),
            "cpu_others": pct(others),
            "cpu_machine": pct(machine),
            "rss_peak_mib": round((proc_status_kib(self.server, "VmHWM") or 0) / 1024, 1),
            "rss_peak_since": "run" if self.hwm_reset else "server start",
        }


# ---- HTTP ---------------------------------------------------------------


def http_call(method, path, body=None, token=None, timeout=30):
    host, port = os.environ["BENCH_HTTP"].rsplit(":", 1)
    c = http.client.HTTPConnection(host, int(port), timeout=timeout)
    headers = {}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    if token:
        headers["Authorization"] = "Bearer " + token
    c.request(method, path, body=data, headers=headers)
    r = c.getresponse()
    raw = r.read()
    c.close()
    try:
        doc = json.loads(raw) if raw else None
    except ValueError:
        doc = raw.decode(errors="replace")
    return r.status, doc


# ---- actors --------------------------------------------------------------

N_STUDENTS = 64  # one per wrk / pgbench connection
N_TEAMS = 50
N_LOGIN_USERS = 100


def student_number(i):
    """The i-th benchmark student: spread over the 50 teams (40 students each)."""
    team = i % N_TEAMS + 1
    return 40 * (team - 1) + i // N_TEAMS + 1


def cmd_login(args):
    password = os.environ["BENCH_PASSWORD"]
    students = [f"student{student_number(i)}@bench.example" for i in range(N_STUDENTS)]
    managers = [f"manager{t}@bench.example" for t in range(1, N_TEAMS + 1)]

    def login(email):
        st, doc = http_call("POST", "/v1/auth/login", {"email": email, "password": password})
        if st != 200:
            die(f"login {email}: HTTP {st} {doc}")
        return email, doc

    t0 = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        done = dict(pool.map(login, students + managers))
    secs = time.monotonic() - t0

    def team_of(doc, role):
        teams = [t["id"] for t in doc["user"].get("teams", []) if t.get("role") == role]
        if len(teams) != 1:
            die(f"{doc['user']['email']}: expected one team as {role}, got {doc['user']}")
        return teams[0]

    with open(os.path.join(OUT, "students.txt"), "w") as f:
        for e in students:
            d = done[e]
            f.write(f"{d['user']['id']} {team_of(d, 'student')} {d['access_token']}\n")
    with open(os.path.join(OUT, "managers.txt"), "w") as f:
        for e in managers:
            d = done[e]
            f.write(f"{d['user']['id']} {team_of(d, 'teammanager')} {d['access_token']}\n")
    # the login burst uses other students (any valid account would do)
    with open(os.path.join(OUT, "logins.txt"), "w") as f:
        for i in range(N_LOGIN_USERS):
            f.write(f"student{40 * (i % N_TEAMS) + 20 + i // N_TEAMS + 1}@bench.example\n")

    # One request of each kind, checked: the benchmark must measure real answers.
    s = done[students[0]]
    st, doc = http_call("GET", "/v1/reflections?limit=20", token=s["access_token"])
    if st != 200 or len(doc.get("items", [])) != 20 or not doc.get("next_cursor"):
        die(f"GET /v1/reflections: HTTP {st}, not a full page: {str(doc)[:300]}")
    m = done[managers[0]]
    tid = team_of(m, "teammanager")
    frm, to = os.environ["BENCH_FROM"], os.environ["BENCH_TO"]
    st, doc = http_call("GET", f"/v1/teams/{tid}/summary?from={frm}&to={to}",
                        token=m["access_token"])
    periods = doc.get("periods", []) if isinstance(doc, dict) else []
    shown = [p for p in periods if not p.get("suppressed")]
    if st != 200 or len(periods) != 24 or not shown:
        die(f"GET summary: HTTP {st}, {len(periods)} periods, {len(shown)} not suppressed: "
            f"{str(doc)[:300]}")
    print(f"  logged in {len(done)} users in {secs:.1f}s ({len(done) / secs:.0f}/s);"
          f" a page has 20 reflections; a summary has {len(periods)} months,"
          f" {len(shown)} not suppressed")
    save_result("logins_setup", {"users": len(done), "secs": round(secs, 1)})


def cmd_oneteam(args):
    """The benchmark students join one more team (bench/oneteam.sql); writers.txt lists them
    with that team, for the one-team writes (every wrk connection a different student)."""
    students = read_actors("students.txt")
    uids = ",".join(f"'{u}'" for u, _, _ in students)
    out = subprocess.run(["psql", "-X", "-Atq", "-v", "ON_ERROR_STOP=1", "-d",
                          os.environ["DATABASE_URL"], "-v", f"uids={uids}", "-f",
                          os.path.join(BENCH_DIR, "oneteam.sql")],
                         check=True, capture_output=True, text=True).stdout.split()
    team = str(uuid.UUID(hashlib.md5(b"team-schrijvers").hexdigest()))
    if not out or int(out[-1]) != len(students):
        die(f"oneteam: {out} members in Team Schrijvers, expected {len(students)}")
    with open(os.path.join(OUT, "writers.txt"), "w") as f:
        for uid, _, token in students:
            f.write(f"{uid} {team} {token}\n")
    print(f"  the {len(students)} benchmark students are also students of Team Schrijvers ({team})")


def read_actors(name):
    with open(os.path.join(OUT, name)) as f:
        return [line.split() for line in f if line.strip()]


# ---- capturing the statements -------------------------------------------

LOG_LINE = re.compile(r"^\S+ \S+ \S+ \[(\d+)\] (\w+):  (.*)$")
PARAM = re.compile(r"\$(\d+) = (NULL|'(?:[^']|'')*')")


def psql(sql):
    subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", os.environ["DATABASE_URL"],
                    "-c", sql], check=True, stdout=subprocess.DEVNULL)


EXECUTE = re.compile(r"execute (?:<unnamed>|s\d+): ")


def parse_log(text):
    """(pid, sql, params) for every executed statement ('execute <unnamed>' or a prepared
    'execute sN') with its DETAIL parameters."""
    entries, last = [], {}
    cur = None
    for line in text.split("\n"):
        m = LOG_LINE.match(line)
        if not m:
            if cur is not None and line.startswith("\t"):  # continuation of a long line
                cur[1] += "\n" + line[1:]
            continue
        pid, level, msg = int(m.group(1)), m.group(2), m.group(3)
        cur = None
        em = EXECUTE.match(msg) if level == "LOG" else None
        if em:
            cur = [pid, msg[em.end():], None]
            entries.append(cur)
            last[pid] = cur
        elif level == "DETAIL" and msg.startswith("parameters: ") and pid in last:
            e = last.pop(pid)
            e[2] = {int(n): (None if v == "NULL" else v[1:-1].replace("''", "'"))
                    for n, v in PARAM.findall(msg)}
    return [(e[0], e[1], e[2] or {}) for e in entries]


def cmd_capture(args):
    """One list and one create per student, logged by PostgreSQL; pgbench scripts from them."""
    log = os.environ["PG_LOG"]
    students = read_actors("students.txt")
    body = reflection_body()

    psql("ALTER SYSTEM SET log_statement = 'all'")
    psql("SELECT pg_reload_conf()")
    time.sleep(1.0)
    phases = {}
    writers = read_actors("writers.txt") if os.path.exists(os.path.join(OUT, "writers.txt")) \
        else None
    kinds = ("read", "write") + (("write1",) if writers else ())
    try:
        for kind in kinds:
            start = os.path.getsize(log)
            for uid, team, token in (writers if kind == "write1" else students):
                if kind == "read":
                    st, doc = http_call("GET", "/v1/reflections?limit=20", token=token)
                    ok = st == 200
                else:
                    st, doc = http_call("POST", "/v1/reflections", dict(body, team_id=team),
                                        token=token)
                    ok = st == 201
                if not ok:
                    die(f"capture {kind}: HTTP {st} {str(doc)[:300]}")
            time.sleep(0.3)
            phases[kind] = (start, os.path.getsize(log))
    finally:
        psql("ALTER SYSTEM RESET log_statement")
        psql("SELECT pg_reload_conf()")

    with open(log, "rb") as f:
        data = f.read()
    for kind, (a, b) in phases.items():
        entries = parse_log(data[a:b].decode("utf-8", "replace"))
        by_user = {}
        for pid, sql, params in entries:
            if params.get(1) is not None:
                by_user.setdefault(params[1], (sql, params))
        missing = [u for u, _, _ in students if u not in by_user]
        if missing:
            die(f"capture {kind}: no logged statement for {len(missing)} of {len(students)} "
                f"students (is log_statement honoured? see {log})")
        sqls = {by_user[u][0] for u, _, _ in students}
        if len(sqls) != 1:
            die(f"capture {kind}: {len(sqls)} different statements for one kind of request")
        sql = sqls.pop()
        param_sets = [by_user[u][1] for u, _, _ in students]
        write_pgbench_script(kind, sql, param_sets)
        print(f"  {kind}: captured {len(students)} executions of one statement "
              f"({len(sql)} characters, {max(by_user[students[0][0]][1])} parameters)")
        # The minimal statement for the same rows, from the same parameters:
        # plain columns, no JSON, no authorization, no idempotency check.
        if kind == "read":
            write_pgbench_script("read_min", MIN_READ, [{1: p[1]} for p in param_sets])
        else:
            write_pgbench_script(kind + "_min", MIN_INSERT, param_sets)
            # The same, GROUP_ROWS to a commit (one pipeline, one Sync), as
            # reflectd's group commit sends creates under load.
            write_pgbench_script(f"{kind}_min_g{GROUP_ROWS}", MIN_INSERT, param_sets, GROUP_ROWS)


# One student's first keyset page of 20, ordered like the service orders it
# (reflections_owner_created_idx), the columns the page shows (goal_ids and
# shared_with are joins, left out).
MIN_READ = ("SELECT id, owner_id, team_id, occurred_on, situation, task, action, result,"
            " reflection, transfer, status, vermogens, dimensions, created_at, updated_at"
            " FROM reflections WHERE owner_id = $1 AND deleted_at IS NULL"
            " ORDER BY created_at, id LIMIT 20")
# The same row the service inserts, from the create's own parameters ($1 user,
# $2 organisation, $5 team, $6..$15 the fields); the table's triggers and
# foreign keys run as for the service.
# Rows to a commit in the grouped minimal INSERT: about what reflectd's groups
# held at 64 writers (reflectd_db_grouped_statements_total over
# reflectd_db_group_commits_total was 7.9 in the run that chose it).
GROUP_ROWS = 8
MIN_INSERT = ("INSERT INTO reflections (id, organisation_id, owner_id, team_id, occurred_on,"
              " situation, task, action, result, reflection, transfer, status, vermogens,"
              " dimensions) VALUES (gen_random_uuid(), $2, $1, $5, $6, $7, $8, $9, $10, $11,"
              " $12, $13, $14, $15)")


def reflection_body():
    """The create body the wrk scripts send, without team_id (filled per student)."""
    with open(os.path.join(BENCH_DIR, "reflection.json")) as f:
        body = json.load(f)
    body["occurred_on"] = time.strftime("%Y-%m-%d", time.gmtime())
    return body


def hide_colons(sql):
    """pgbench reads every :name in a statement as a variable, inside string literals too
    (to_char's 'HH24:MI:SS' became parameters it cannot type): literals with a colon are
    rewritten as the same constant in E'' form with \\x3a."""
    out, i, n = [], 0, len(sql)
    while i < n:
        if sql[i] != "'":
            j = sql.find("'", i)
            j = n if j < 0 else j
            out.append(sql[i:j])
            i = j
            continue
        j = i + 1
        while j < n:
            if sql[j] == "'" and j + 1 < n and sql[j + 1] == "'":
                j += 2
            elif sql[j] == "'":
                break
            else:
                j += 1
        lit = sql[i + 1:j]
        if ":" in lit and not (out and out[-1][-1:] in ("E", "e")):
            out.append("E'" + lit.replace("\\", "\\\\").replace(":", "\\x3a") + "'")
        else:
            out.append(sql[i:j + 1])
        i = j + 1
    return "".join(out)


def write_pgbench_script(kind, sql, param_sets, per_tx=1):
    """One branch per client (client k uses student k % n, like one connection per student
    in wrk); $N become :vK variables (given with -D) and NULL parameters a NULL literal.
    per_tx > 1: the statement that many times in one pipeline, so one transaction (the
    number goes to pgbench_KIND.meta.json, and the result counts rows as well as tx)."""
    names = {}  # value -> variable name

    def var(value):
        if value not in names:
            names[value] = f"v{len(names) + 1}"
        return names[value]

    n = len(param_sets)
    lines = []
    for k, params in enumerate(param_sets):
        def sub(m):
            v = params.get(int(m.group(1)))
            return "NULL" if v is None else ":" + var(v)

        text = re.sub(r"\$(\d+)", sub, hide_colons(sql))
        lines.append(("\\if" if k == 0 else "\\elif") + f" :client_id % {n} = {k}")
        if per_tx > 1:
            lines += ["\\startpipeline"] + [text + ";"] * per_tx + ["\\endpipeline"]
        else:
            lines.append(text + ";")
    lines.append("\\endif")
    with open(os.path.join(OUT, f"pgbench_{kind}.sql"), "w") as f:
        f.write("\n".join(lines) + "\n")
    with open(os.path.join(OUT, f"pgbench_{kind}.meta.json"), "w") as f:
        json.dump({"statements_per_tx": per_tx}, f)
    with open(os.path.join(OUT, f"pgbench_{kind}.vars.json"), "w") as f:
        json.dump({name: value for value, name in names.items()}, f)


# ---- running the load generators ------------------------------------------


def run_measured(cmd, logfile, env=None, extra_clients=()):
    check_server()
    meter = Meter().start(extra_clients)
    with open(logfile, "w") as lf:
        p = subprocess.Popen(cmd, stdout=lf, stderr=subprocess.STDOUT, env=env)
        CHILDREN.append(p)
        rc = p.wait()
        CHILDREN.remove(p)
    m = meter.stop()
    with open(logfile) as f:
        return rc, f.read(), m


def wrk_env():
    env = dict(os.environ)
    env["BENCH_OUT"] = os.path.abspath(OUT)
    env["BENCH_DIR"] = os.path.abspath(BENCH_DIR)
    return env


def wrk_cmd(lua, conns, secs):
    threads = min(2, conns)
    return ["wrk", f"-t{threads}", f"-c{conns}", f"-d{secs}s", "--latency", "--timeout", "30s",
            "-s", os.path.join(BENCH_DIR, lua), "http://" + os.environ["BENCH_HTTP"]]


def parse_wrk(name, rc, text):
    m = re.search(r"^BENCH_RESULT (\{.*\})$", text, re.M)
    if rc != 0 or not m:
        check_server()
        die(f"wrk {name} failed (exit {rc}):\n{text[-2000:]}")
    d = json.loads(m.group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    sock = re.search(r"Socket errors: (.*)", text)
    secs = d["duration_us"] / 1e6
    return {
        "kind": "wrk",
        "requests": d["requests"],
        "rps": round(d["requests"] / secs, 1),
        "p50_ms": d["p50_us"] / 1000,
        "p90_ms": d["p90_us"] / 1000,
        "p99_ms": d["p99_us"] / 1000,
        "max_ms": d["max_us"] / 1000,
        "non2xx": int(non2xx.group(1)) if non2xx else 0,
        "socket_errors": sock.group(1).strip() if sock else "",
        "errors": d["errors_status"] + d["errors_connect"] + d["errors_read"]
        + d["errors_write"] + d["errors_timeout"],
    }


def cmd_wrk(args):
    name, lua, conns, secs = args[0], args[1], int(args[2]), int(args[3])
    rc, text, m = run_measured(wrk_cmd(lua, conns, secs), os.path.join(OUT, f"{name}.wrk.txt"),
                               env=wrk_env())
    r = parse_wrk(name, rc, text)
    r.update(m, conns=conns, secs=secs, script=lua)
    st = re.search(r"^BENCH_STATUS (\{.*\})$", text, re.M)
    if st:
        r["statuses"] = json.loads(st.group(1))
    save_result(name, r)
    print_line(name, r)
    if st:
        print(f"  {name}: answers by status {r['statuses']}")


def print_line(name, r):
    err = ""
    if r.get("non2xx"):
        err += f"  Non-2xx or 3xx responses: {r['non2xx']}"
    if r.get("socket_errors"):
        err += f"  Socket errors: {r['socket_errors']}"
    rate = r.get("rps", r.get("tps"))
    print(f"  {name:<14} {rate:>9.1f}/s  p50 {r['p50_ms']:8.2f} ms  p99 {r['p99_ms']:8.2f} ms"
          f"  cpu reflectd {r['cpu_reflectd']:5.1f}% (hasher {r.get('cpu_hasher', 0):4.1f}%)"
          f"  postgres {r['cpu_postgres']:5.1f}%"
          f"  client {r['cpu_client']:5.1f}%  others {r['cpu_others']:5.1f}%"
          f"  rss {r['rss_peak_mib']} MiB{err}")


def percentile(sorted_vals, p):
    if not sorted_vals:
        return 0.0
    i = min(len(sorted_vals) - 1, max(0, int(round(p / 100.0 * len(sorted_vals) + 0.5)) - 1))
    return sorted_vals[i]


def cmd_pgbench(args):
    name, kind, conns, secs = args[0], args[1], int(args[2]), int(args[3])
    mode = args[4] if len(args) > 4 else "prepared"
    script = os.path.join(OUT, f"pgbench_{kind}.sql")
    with open(os.path.join(OUT, f"pgbench_{kind}.vars.json")) as f:
        variables = json.load(f)
    prefix = os.path.join(OUT, f"{name}.txlog")
    for old in glob.glob(prefix + ".*"):
        os.remove(old)
    cmd = ["pgbench", "-n", "-M", mode, "-c", str(conns), "-j", str(min(2, conns)), "-T", str(secs),
           "-f", script, "--log", "--log-prefix", prefix]
    for k, v in variables.items():
        cmd += ["-D", f"{k}={v}"]
    cmd.append(os.environ["DATABASE_URL"])
    rc, text, m = run_measured(cmd, os.path.join(OUT, f"{name}.pgbench.txt"))
    tps = re.search(r"^tps = ([\d.]+) \(without initial connection time\)", text, re.M)
    failed = re.search(r"number of failed transactions: (\d+)", text)
    check_server()
    if rc != 0 or not tps or (failed and int(failed.group(1)) > 0):
        die(f"pgbench {name} failed (exit {rc}):\n{text[-2000:]}")
    lat = []
    for fn in glob.glob(prefix + ".*"):
        with open(fn) as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 3:
                    lat.append(int(parts[2]))
        os.remove(fn)
    lat.sort()
    r = {"kind": "pgbench", "mode": mode, "tps": float(tps.group(1)), "transactions": len(lat),
         "p50_ms": percentile(lat, 50) / 1000, "p99_ms": percentile(lat, 99) / 1000}
    meta = os.path.join(OUT, f"pgbench_{kind}.meta.json")
    if os.path.exists(meta):
        with open(meta) as f:
            r["per_tx"] = json.load(f)["statements_per_tx"]
        r["rows_per_s"] = r["tps"] * r["per_tx"]
    r.update(m, conns=conns, secs=secs)
    save_result(name, r)
    print_line(name, r)
    return r


def cmd_pgbest(args):
    """pgbench NAME KIND at each of several client counts ("4 16 64"); NAME is the best."""
    name, kind, counts, secs = args[0], args[1], [int(c) for c in args[2].split()], args[3]
    runs = [cmd_pgbench([f"{name}_c{c}", kind, str(c), secs] + args[4:]) for c in counts]
    best = dict(max(runs, key=lambda r: r["tps"]))
    best["best_of"] = {str(r["conns"]): r["tps"] for r in runs}
    save_result(name, best)
    print(f"  {name}: best {best['tps']:.0f} tx/s at {best['conns']} clients "
          f"(of {', '.join(f'{c}: {t:.0f}' for c, t in best['best_of'].items())})")


# ---- scenario 3, conditional: the ETags ---------------------------------------


def cmd_etags(args):
    """Each manager's summary once, its ETag kept (managers_etag.txt), and checked: the same
    request with If-None-Match answers 304 with no body."""
    frm, to = os.environ["BENCH_FROM"], os.environ["BENCH_TO"]
    host, port = os.environ["BENCH_HTTP"].rsplit(":", 1)
    rows = []
    for uid, team, token in read_actors("managers.txt"):
        path = f"/v1/teams/{team}/summary?from={frm}&to={to}"
        c = http.client.HTTPConnection(host, int(port), timeout=30)
        c.request("GET", path, headers={"Authorization": "Bearer " + token})
        r = c.getresponse()
        r.read()
        etag = r.getheader("ETag")
        if r.status != 200 or not etag or " " in etag:
            die(f"summary of team {team}: HTTP {r.status}, ETag {etag!r}")
        c.request("GET", path, headers={"Authorization": "Bearer " + token,
                                        "If-None-Match": etag})
        r2 = c.getresponse()
        body = r2.read()
        c.close()
        if r2.status != 304 or body:
            die(f"summary of team {team} with If-None-Match {etag}: HTTP {r2.status}, "
                f"{len(body)} bytes")
        rows.append(f"{uid} {team} {token} {etag}")
    with open(os.path.join(OUT, "managers_etag.txt"), "w") as f:
        f.write("\n".join(rows) + "\n")
    print(f"  {len(rows)} summaries: ETag kept, If-None-Match answers 304")


# ---- open-loop latency ------------------------------------------------------


def cmd_openloop(args):
    """openloop NAME FROM FRACTION SECS [CONNS]: GET /v1/reflections?limit=20 offered at a
    fixed rate, FRACTION of result FROM's req/s (scenario 1's maximum), by an open-loop
    generator: request i is due at t0 + i / rate whatever happened to the ones before it,
    goes out on the first idle keep-alive connection (of CONNS), and its latency is measured
    from its due time, so time spent waiting for a connection counts (no coordinated
    omission). Python asyncio, one process, raw sockets."""
    import asyncio

    name, src, frac, secs = args[0], args[1], float(args[2]), float(args[3])
    conns = int(args[4]) if len(args) > 4 else 64
    base = load_results().get(src)
    if not base:
        die(f"openloop: no result {src} to take the rate from")
    rate = base["rps"] * frac
    host, port = os.environ["BENCH_HTTP"].rsplit(":", 1)
    reqs = [(f"GET /v1/reflections?limit=20 HTTP/1.1\r\nHost: {host}\r\n"
             f"Authorization: Bearer {tok}\r\n\r\n").encode()
            for _, _, tok in read_actors("students.txt")]
    total = int(rate * secs)
    lat = []  # ms from due time to the end of the answer
    send_lag = []  # ms from due time to the send
    bad = [0]
    statuses = {}

    class Conn(asyncio.Protocol):
        def __init__(self, idle):
            self.idle, self.buf, self.due, self.need = idle, b"", None, None

        def connection_made(self, transport):
            self.t = transport
            self.t.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.idle.append(self)

        def send(self, req, due):
            self.due = due
            self.buf, self.need = b"", None
            send_lag.append((time.monotonic() - due) * 1000)
            self.t.write(req)

        def data_received(self, data):
            self.buf += data
            if self.need is None:
                i = self.buf.find(b"\r\n\r\n")
                if i < 0:
                    return
                head = self.buf[:i]
                m = re.search(rb"(?i)\r\ncontent-length:\s*(\d+)", head)
                self.need = i + 4 + (int(m.group(1)) if m else 0)
                self.status = int(head[9:12])
            if len(self.buf) >= self.need:
                lat.append((time.monotonic() - self.due) * 1000)
                statuses[self.status] = statuses.get(self.status, 0) + 1
                if self.status != 200:
                    bad[0] += 1
                self.due = None
                self.idle.append(self)
                waiting.set()

        def connection_lost(self, exc):
            if self.due is not None:
                bad[0] += 1
                lat.append(float("inf"))
            if self in self.idle:
                self.idle.remove(self)

    waiting = None

    async def main():
        nonlocal waiting
        waiting = asyncio.Event()
        loop = asyncio.get_running_loop()
        idle = []
        for _ in range(conns):
            await loop.create_connection(lambda: Conn(idle), host, int(port))
        t0 = time.monotonic() + 0.2
        i = j = 0
        backlog = []  # due times of requests waiting for a connection
        while i < total or backlog:
            now = time.monotonic()
            if now > t0 + secs + 30:
                break  # (connections lost: counted as missing below)
            while i < total and t0 + i / rate <= now:
                backlog.append(t0 + i / rate)
                i += 1
            while backlog and idle:
                c = idle.pop()
                due = backlog.pop(0)
                c.send(reqs[j % len(reqs)], due)
                j += 1
            if i >= total and not backlog:
                break
            if backlog:  # every connection is busy: wait for one
                waiting.clear()
                try:
                    await asyncio.wait_for(waiting.wait(), 1.0)
                except asyncio.TimeoutError:
                    pass
            else:
                await asyncio.sleep(max(0.0, t0 + i / rate - time.monotonic()))
        deadline = time.monotonic() + 30
        while len(lat) < total and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        return time.monotonic() - t0

    check_server()
    meter = Meter().start()
    ru0 = resource.getrusage(resource.RUSAGE_SELF)
    wall = asyncio.run(main())
    ru1 = resource.getrusage(resource.RUSAGE_SELF)
    m = meter.stop()
    # the generator is this process: its CPU is the client's, not "others"
    own = 100.0 * (ru1.ru_utime + ru1.ru_stime - ru0.ru_utime - ru0.ru_stime) / m["wall_s"]
    m["cpu_client"] = round(m["cpu_client"] + own, 1)
    m["cpu_others"] = round(max(0.0, m["cpu_others"] - own), 1)
    missing = total - len(lat)
    lat.sort()
    send_lag.sort()
    r = {"kind": "openloop", "generator": "bench.py openloop (asyncio, open loop, latency "
         "from the scheduled send time)", "offered_rps": round(rate, 1), "fraction": frac,
         "of": src, "of_rps": base["rps"], "requests": len(lat), "missing": missing,
         "rps": round(len(lat) / wall, 1), "p50_ms": percentile(lat, 50),
         "p90_ms": percentile(lat, 90), "p99_ms": percentile(lat, 99),
         "p999_ms": percentile(lat, 99.9), "max_ms": lat[-1] if lat else 0.0,
         "send_lag_p99_ms": round(percentile(send_lag, 99), 2),
         "non2xx": bad[0] + missing, "socket_errors": "", "statuses": statuses}
    r.update(m, conns=conns, secs=secs)
    save_result(name, r)
    print_line(name, r)
    print(f"  {name}: offered {rate:.0f}/s ({frac:g} x {base['rps']:.0f}), answered "
          f"{len(lat)}, send lag p99 {r['send_lag_p99_ms']} ms, p99.9 {r['p999_ms']:.2f} ms")
    if bad[0] or missing:
        die(f"{name}: {bad[0]} failed, {missing} unanswered")


def read_request_file():
    """The request file bench/openloop.c sends: every student's first page, in turn.
    Written once per run (bench.sh removes BENCH_OUT/*.txt at the start, and the tokens
    live through the run), not again for each of scenario 6's windows."""
    host = os.environ["BENCH_HTTP"].rsplit(":", 1)[0]
    reqfile = os.path.join(OUT, "openloop_requests.txt")
    if os.path.exists(reqfile):
        return reqfile
    with open(reqfile, "w") as f:
        for _, _, tok in read_actors("students.txt"):
            f.write(f"GET /v1/reflections?limit=20 HTTP/1.1\\r\\nHost: {host}\\r\\n"
                    f"Authorization: Bearer {tok}\\r\\n\\r\\n\n")
    return reqfile


def run_openloop_c(name, rate, secs, conns, extra_clients=()):
    """bench/openloop.c at rate requests/s (0: closed loop) on conns connections; the
    result as a row (CPU measured over the run)."""
    host, port = os.environ["BENCH_HTTP"].rsplit(":", 1)
    cmd = [os.path.join(OUT, "openloop"), host, port, f"{rate:.1f}", str(secs), str(conns),
           read_request_file()]
    rc, text, m = run_measured(cmd, os.path.join(OUT, f"{name}.txt"), extra_clients=extra_clients)
    try:
        o = json.loads(text.strip().splitlines()[-1])
    except (ValueError, IndexError):
        die(f"{name}: the generator said: {text.strip()[-300:]}")
    r = {"kind": "openloop" if rate > 0 else "closedloop",
         "rps": round(o["requests"] / max(o["secs"], 1e-9), 1),
         "non2xx": o["bad"] + o["missing"], "failed": o["bad"], "missing": o["missing"],
         "socket_errors": "" if rc == 0 else f"exit status {rc}"}
    r.update({k: o[k] for k in ("offered_rps", "requests", "p50_ms", "p90_ms", "p99_ms",
                                "p999_ms", "max_ms", "max_at_ms", "over_50ms",
                                "send_lag_p99_ms")})
    r.update(m, conns=conns, secs=secs)
    return r


def cmd_openloop_c(args):
    """openloopc NAME FROM FRACTION SECS [CONNS]: the same offered load as openloop, from
    bench/openloop.c (built by bench.sh into BENCH_OUT/openloop): one C thread on epoll and
    a timerfd, so that the generator's own lateness stays far below the tail measured
    (the asyncio one is late by milliseconds on a loaded machine). Same schedule, same
    requests, latency from the due time."""
    name, src, frac, secs = args[0], args[1], float(args[2]), float(args[3])
    conns = int(args[4]) if len(args) > 4 else 64
    base = load_results().get(src)
    if not base:
        die(f"openloopc: no result {src} to take the rate from")
    rate = base["rps"] * frac
    r = run_openloop_c(name, rate, secs, conns)
    r.update(generator="bench/openloop.c (C, epoll + timerfd, open loop, latency from the "
             "scheduled send time)", fraction=frac, of=src, of_rps=base["rps"])
    save_result(name, r)
    print_line(name, r)
    print(f"  {name}: offered {rate:.0f}/s ({frac:g} x {base['rps']:.0f}), answered "
          f"{r['requests']}, send lag p99 {r['send_lag_p99_ms']} ms, p99.9 {r['p999_ms']:.2f} ms")
    if r["non2xx"] or r["socket_errors"]:
        die(f"{name}: {r['failed']} failed, {r['missing']} unanswered {r['socket_errors']}")


# ---- scenario 5: idle keep-alive connections -------------------------------


def cmd_idle(args):
    name, want = args[0], int(args[1])
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    except (ValueError, OSError):
        hard = soft
    n = min(want, hard - 64)
    server = int(os.environ["SERVER_PID"])
    srv_limit = None
    with open(f"/proc/{server}/limits") as f:
        for line in f:
            if line.startswith("Max open files"):
                srv_limit = int(line.split()[3])
    if srv_limit is not None:
        n = min(n, srv_limit - 256)  # room for the pool, listeners, logs
    host, port = os.environ["BENCH_HTTP"].rsplit(":", 1)
    req = f"GET /healthz HTTP/1.1\r\nHost: {host}\r\nConnection: keep-alive\r\n\r\n".encode()
    reset_peak_rss(server)
    rss0 = proc_status_kib(server, "VmRSS")
    t0 = time.monotonic()
    socks, bad = [], 0
    try:
        for i in range(n):
            s = socket.create_connection((host, int(port)), timeout=10)
            s.sendall(req)
            buf = b""
            while b"\r\n\r\n" not in buf:
                chunk = s.recv(4096)
                if not chunk:
                    break
                buf += chunk
            head, _, rest = buf.partition(b"\r\n\r\n")
            clen = re.search(rb"(?i)content-length:\s*(\d+)", head)
            need = int(clen.group(1)) if clen else 0
            while len(rest) < need:
                chunk = s.recv(4096)
                if not chunk:
                    break
                rest += chunk
            if not head.startswith(b"HTTP/1.1 200"):
                bad += 1
            socks.append(s)
        opened = time.monotonic() - t0
        time.sleep(3.0)  # let the server settle, then measure
        rss1 = proc_status_kib(server, "VmRSS")
        hwm = proc_status_kib(server, "VmHWM")
        still_open = 0
        for s in socks:
            s.setblocking(False)
            try:
                if s.recv(1) != b"":
                    pass
            except BlockingIOError:
                still_open += 1
            except OSError:
                pass
    finally:
        for s in socks:
            s.close()
    time.sleep(1.0)
    rss2 = proc_status_kib(server, "VmRSS")
    r = {"kind": "idle", "connections": n, "requested": want, "non200": bad,
         "still_open": still_open, "open_secs": round(opened, 1),
         "rss_before_mib": round(rss0 / 1024, 1), "rss_idle_mib": round(rss1 / 1024, 1),
         "rss_peak_mib": round(hwm / 1024, 1), "rss_after_close_mib": round(rss2 / 1024, 1),
         "kib_per_conn": round((rss1 - rss0) / max(1, n), 1)}
    save_result(name, r)
    print(f"  {name}: {n} idle keep-alive connections ({still_open} still open after 3 s, "
          f"{bad} non-200): reflectd RSS {r['rss_before_mib']} -> {r['rss_idle_mib']} MiB "
          f"({r['kib_per_conn']} KiB per connection), after closing {r['rss_after_close_mib']} MiB")
    if bad or still_open < n:
        die(f"{name}: {bad} non-200 answers, {n - still_open} connections closed early")


# ---- scenario 6: reads during a login burst --------------------------------


BURST_SECS = 10  # each window of reads


def burst_windows(name, label, rate, extra=()):
    """The reads of one window pair: closed loop at 16 connections, then open loop at rate
    on the same 16 (rate 0: set from the closed loop's answer rate, halved)."""
    closed = run_openloop_c(f"{name}_{label}_closed", 0, BURST_SECS, 16, extra)
    print_line(f"{label} closed", closed)
    rate = rate or round(closed["rps"] * 0.5, 1)
    opened = run_openloop_c(f"{name}_{label}_open", rate, BURST_SECS, 16, extra)
    print_line(f"{label} open", opened)
    for r in (closed, opened):
        if r["non2xx"] or r["socket_errors"]:
            die(f"{name} {label}: {r['failed']} failed, {r['missing']} unanswered "
                f"{r['socket_errors']}")
        if r["over_50ms"]:
            print(f"    ({r['over_50ms']} answers took 50 ms or more; the slowest, "
                  f"{r['max_ms']:.0f} ms, came at {r['max_at_ms']} ms since the epoch)")
    return closed, opened


def cmd_burst(args):
    """burst NAME: the reads of scenario 1 on 16 connections, alone, during a login burst
    and alone again, each window twice: closed loop (each connection sends again as soon as
    it has its answer: the machine saturated) and open loop, all three at half the rate
    the closed loop had in the "alone" window (latency from the scheduled send, so a stall
    counts for every request it delays). Both from bench/openloop.c, whose samples are
    all requests made: wrk 4.1 adds invented samples for coordinated omission (see
    openloop.c), which turned one stall into the p99 and made this ratio swing between
    0.3x and 3x with no logins at all (issue #18)."""
    name = args[0]
    # A reflectd just (re)started answers its first seconds slower (p99 about 40% higher:
    # connections prepare their statements, the token cache fills): not part of "alone".
    run_openloop_c(f"{name}_warmup", 0, 3, 16)
    alone, alone_o = burst_windows(name, "alone", 0)
    rate = alone_o["offered_rps"]
    env = wrk_env()
    login_log = os.path.join(OUT, f"{name}_logins.wrk.txt")
    login_secs = 2 * BURST_SECS + 6  # 1.5 s ahead, two windows, their start-up
    with open(login_log, "w") as lf:
        logins = subprocess.Popen(wrk_cmd("login.lua", 8, login_secs), stdout=lf,
                                  stderr=subprocess.STDOUT, env=env)
        CHILDREN.append(logins)
        time.sleep(1.5)
        during, during_o = burst_windows(name, "during", rate, [logins.pid])
        lrc = logins.wait()
        CHILDREN.remove(logins)
    with open(login_log) as f:
        lg = parse_wrk("logins", lrc, f.read())
    lg.update(conns=8, secs=login_secs)
    print(f"  {'logins':<14} {lg['rps']:>9.1f}/s  p50 {lg['p50_ms']:8.2f} ms  "
          f"p99 {lg['p99_ms']:8.2f} ms")
    settled = wait_server_idle()
    print(f"  (reflectd idle again {settled:.1f} s after the burst)")
    # The same reads alone once more, after the burst: an A/A pair with "alone". Its ratio is
    # what two windows of the same load differ by on this machine (the measure's own noise);
    # the target is still judged on during / alone, this only shows how far to trust it.
    again, again_o = burst_windows(name, "again", rate)
    for kind, a, d, g in (("closed", alone, during, again), ("open", alone_o, during_o, again_o)):
        print(f"  {kind} loop: p99 during / alone {d['p99_ms'] / a['p99_ms']:.2f}x; alone "
              f"again / alone {g['p99_ms'] / a['p99_ms']:.2f}x (the same load twice)")
    save_result(name, {"kind": "burst", "alone": alone, "during": during, "logins": lg,
                       "again": again, "alone_open": alone_o, "during_open": during_o,
                       "again_open": again_o, "settle_s": round(settled, 1)})


def wait_server_idle(quiet=0.05, window=4.0, most=60.0):
    """Waits until reflectd (with its hasher process) has used under quiet of a
    core for `window` seconds in a row, at most `most` seconds; returns the
    seconds waited. Logins still queued when the burst's clients stop are
    hashed all the same, at the CPU budget's pace: a computation, then a pause
    of up to computation / budget (0.3 s / 10% = 3 s) with no CPU used, hence
    the window. The next run's "reads alone" must not run beside them."""
    server = int(os.environ["SERVER_PID"])
    t0 = time.monotonic()
    quiet_since = time.monotonic()
    a = sum(pg_tree_ticks(server).values())
    while time.monotonic() - t0 < most:
        time.sleep(0.5)
        b = sum(pg_tree_ticks(server).values())
        if (b - a) / TICK / 0.5 >= quiet:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since >= window:
            break
        a = b
    return time.monotonic() - t0


# ---- report ----------------------------------------------------------------


def fmt_ms(x):
    return f"{x:.2f}" if x < 100 else f"{x:.0f}"


def flag(r):
    bits = []
    if r.get("non2xx"):
        bits.append(f"Non-2xx or 3xx: {r['non2xx']}")
    if r.get("socket_errors"):
        bits.append(f"socket errors: {r['socket_errors']}")
    return "; ".join(bits)


OLD_SUMMARY_RPS = 844  # scenario 3 before published periods (README, issue #18)


def targets_table(R):
    """The figures of issue #18, each a ratio measured in this run, with its target."""
    L = ["| issue #18 | measured | target | target met |", "|---|---|---|---|"]
    yn = lambda ok: "yes" if ok else "no"

    def ratio_row(label, svc, ceil, target, extra=""):
        r, c = R.get(svc), R.get(ceil)
        if not (r and c and c.get("tps")):
            L.append(f"| {label} | (not run) | ≥ {target} | |")
            return
        x = r["rps"] / c["tps"]
        at = f" at {c['conns']} clients, best of " + "/".join(c["best_of"]) \
            if "best_of" in c else f" at {c['conns']} clients"
        L.append(f"| {label} | **{x:.2f}** ({r['rps']:.0f} req/s / {c['tps']:.0f} tx/s{at}"
                 f"{extra}) | ≥ {target} | {yn(x >= target)} |")

    sc = R.get("read_ceiling")
    ratio_row("reads (64 connections) / PostgreSQL's ceiling for the minimal statement",
              "read", "read_min", 0.3,
              f"; the service's own statement: {sc['tps']:.0f} tx/s" if sc else "")
    r8, mn = R.get("read_pool8"), R.get("read_min")
    if r8 and mn and mn.get("tps"):
        L.append(f"| the same at DB_POOL_SIZE=8 per worker (16 backends, the pool of earlier runs)"
                 f" | {r8['rps'] / mn['tps']:.2f} ({r8['rps']:.0f} req/s) | — | — |")
    ratio_row("writes spread over 50 teams / minimal INSERT, spread", "write", "write_min", 0.8)
    m1, m = R.get("write1_min"), R.get("write_min")
    ratio_row("writes all in one team / minimal INSERT, one team", "write1", "write1_min", 0.8,
              f"; vs the spread minimal INSERT: {R['write1']['rps'] / m['tps']:.2f}"
              if m and R.get("write1") else "")
    for svc, ceil, where in (("write", "write_min_g8", "spread"), ("write1", "write1_min_g8",
                                                                   "one team")):
        r, c = R.get(svc), R.get(ceil)
        if r and c and c.get("rows_per_s"):
            L.append(f"| writes {where} / minimal INSERT, {c['per_tx']} rows to a commit (as "
                     f"reflectd groups them) | {r['rps'] / c['rows_per_s']:.2f} ({r['rps']:.0f} "
                     f"req/s / {c['rows_per_s']:.0f} rows/s, {c['tps']:.0f} tx/s) | — | — |")
    w, w1 = R.get("write"), R.get("write1")
    if w and w1:
        L.append(f"| writes one team / spread (service) | {w1['rps'] / w['rps']:.2f} "
                 f"({w1['rps']:.0f} / {w['rps']:.0f} req/s; p99 {fmt_ms(w1['p99_ms'])} / "
                 f"{fmt_ms(w['p99_ms'])} ms)"
                 + (f"; minimal INSERT one team / spread {m1['tps'] / m['tps']:.2f}"
                    if m and m1 else "") + " | close to 1 | — |")
    for key, label in (("summary", "summary, 24 months, 64 connections"),
                       ("summary_304", "summary with If-None-Match (304)")):
        r = R.get(key)
        if r:
            st = r.get("statuses")
            sts = (", answers " + ", ".join(f"{k}: {v}" for k, v in sorted(st.items()))) \
                if st else ""
            L.append(f"| {label} | {r['rps']:.0f} req/s: **{r['rps'] / OLD_SUMMARY_RPS:.2f}x** "
                     f"the old {OLD_SUMMARY_RPS} req/s (p99 {fmt_ms(r['p99_ms'])} ms{sts}) | "
                     f"— | — |")
    o = R.get("read_open_c")
    if o:
        L.append(f"| reads' p99 at half the maximum read rate, open loop (C generator) | "
                 f"**{o['p99_ms']:.2f} ms** ({o['offered_rps']:.0f}/s offered = {o['fraction']:g}"
                 f" x {o['of_rps']:.0f}, {o['rps']:.0f}/s answered; p50 {o['p50_ms']:.2f}, "
                 f"p99.9 {o['p999_ms']:.2f} ms; generator: bench/openloop.c, {o['conns']} "
                 f"keep-alive connections, latency from the scheduled send time, its send lag "
                 f"p99 {o['send_lag_p99_ms']} ms) | < 5 ms | {yn(o['p99_ms'] < 5)} |")
    o = R.get("read_open")
    if o:
        L.append(f"| reads' p99 at half the maximum read rate, open loop (asyncio generator) | "
                 f"**{o['p99_ms']:.2f} ms** ({o['offered_rps']:.0f}/s offered = {o['fraction']:g}"
                 f" x {o['of_rps']:.0f}, {o['rps']:.0f}/s answered; p50 {o['p50_ms']:.2f}, "
                 f"p99.9 {o['p999_ms']:.2f} ms; generator: bench.py openloop, {o['conns']} "
                 f"keep-alive connections, latency from the scheduled send time, its send lag "
                 f"p99 {o['send_lag_p99_ms']} ms) | < 5 ms | {yn(o['p99_ms'] < 5)} |")
    bursts = [R[f"burst{n}"] for n in (1, 2, 3) if f"burst{n}" in R]
    if bursts:
        pool = R.get("meta", {}).get("burst_pool")
        at = f" at DB_POOL_SIZE={pool}" if pool else ""
        for key, what in (("", "closed loop, the machine saturated"),
                          ("_open", "open loop at half the closed loop's rate")):
            if not all(f"{w}{key}" in b for b in bursts for w in ("alone", "during", "again")):
                continue
            if bursts[0]["alone"].get("kind") == "wrk":  # results from before this change
                what = "wrk, with its invented samples"
            win = lambda b, w: b[f"{w}{key}"]
            xs = [win(b, "during")["p99_ms"] / win(b, "alone")["p99_ms"] for b in bursts]
            aa = [win(b, "again")["p99_ms"] / win(b, "alone")["p99_ms"] for b in bursts]
            detail = "; ".join(f"{win(b, 'alone')['p99_ms']:.2f} → {win(b, 'during')['p99_ms']:.2f}"
                               f" ms" for b in bursts)
            detail += "; A/A (alone again / alone): " + " / ".join(f"{x:.1f}x" for x in aa)
            L.append(f"| reads' p99 (16 connections, {what}) during a login burst / alone, "
                     f"{len(xs)} runs{at} | **{' / '.join(f'{x:.1f}x' for x in xs)}** ({detail}) "
                     f"| within 2x, each run | {yn(all(x <= 2 for x in xs))} |")
    L.append("")
    return L


def cmd_report(args):
    R = load_results()
    L = []
    meta = R.get("meta", {})
    L.append("# reflectd benchmark")
    L.append("")
    L.append(f"{meta.get('when', '')} on {meta.get('machine', '')}. "
             f"Measured: {meta.get('build', 'bin/reflectd')}. "
             f"reflectd: {meta.get('server_settings', '')}. PostgreSQL {meta.get('pg_version', '')}:"
             f" {meta.get('pg_settings', '')}. wrk -t2, {meta.get('secs', 15)} s per run"
             f" (`--latency`); pgbench -M prepared -j 2, same concurrency, same machine.")
    L.append("")
    if meta.get("background"):
        L.append(f"Other processes on the machine: {meta['background']}.")
        L.append("")
    L.append(f"Data set: {meta.get('dataset', '')}; seeded in {meta.get('seed_secs', '?')} s "
             f"through the triggers (+ VACUUM ANALYZE {meta.get('vacuum_secs', '?')} s).")
    L.append("")
    L.append("| # | scenario | conns | req/s | p50 ms | p99 ms | reflectd CPU | postgres CPU"
             " | others CPU | reflectd peak RSS | ceiling tx/s (p50 / p99 ms) | service / ceiling"
             " | pgbench -M extended tx/s | minimal-statement ceiling tx/s (p50 / p99 ms)"
             " | service / minimal |")
    L.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    rows = [("1", "GET /v1/reflections?limit=20 (student)", R.get("read"), "read", "read_min"),
            ("1", "the same at DB_POOL_SIZE=8 per worker (16 backends; the bench's pool before "
             "2026-12-02)", R.get("read_pool8"), "read", "read_min"),
            ("1", "the same at 1 connection (unloaded latency)", R.get("read_1conn"), None, None),
            ("1", "the same offered open-loop at half the rate above (latency from the "
             "scheduled send), C generator", R.get("read_open_c"), None, None),
            ("1", "the same offered open-loop at half the rate above (latency from the "
             "scheduled send), asyncio generator", R.get("read_open"), None, None),
            ("2", "POST /v1/reflections (final, synchronous_commit on), writers spread over "
             "50 teams", R.get("write"), "write", "write_min"),
            ("2", "the same, all 64 writers in one team (each connection a different student)",
             R.get("write1"), "write1", "write1_min"),
            ("2", "the same at 1 connection (unloaded latency)", R.get("write_1conn"), None, None),
            ("3", "GET /v1/teams/{id}/summary, 24 months (teammanager)", R.get("summary"), None,
             None),
            ("3", "the same with If-None-Match: its ETag (304, no body)", R.get("summary_304"),
             None, None),
            ("3", "the same at 1 connection (unloaded latency)", R.get("summary_1conn"), None,
             None),
            ("4", "mixed 80% read / 15% write / 5% summary", R.get("mixed"), None, None),
            ("5", "idle keep-alive connections (RSS while held)", R.get("idle"), None, None)]
    for n in (1, 2, 3):
        b = R.get(f"burst{n}", {})
        for w, label in (("alone", "alone"), ("during", "during the login burst"),
                         ("again", "alone again, after the burst")):
            rows += [("6", f"run {n}: scenario 1 {label}, closed loop", b.get(w), None, None),
                     ("6", f"run {n}: scenario 1 {label}, open loop", b.get(f"{w}_open"), None,
                      None)]
        rows += [("6", f"run {n}: the login burst itself (POST /v1/auth/login)", b.get("logins"),
                  None, None)]
    rows += [("7", "scenario 3, base data set", R.get("summary_base"), None, None),
             ("7", "scenario 3, data set 10x", R.get("summary_10x"), None, None)]
    problems = []
    dash = "—"
    for no, label, r, ceil, minimal in rows:
        if not r:
            L.append(f"| {no} | {label} | | (not run) | | | | | | | | | | | |")
            continue
        if r.get("kind") == "idle":
            L.append(f"| {no} | {r['connections']} {label} | {r['connections']} | {dash} | {dash}"
                     f" | {dash} | {dash} | {dash} | {dash} | {r['rss_idle_mib']:.0f} MiB"
                     f" (peak {r['rss_peak_mib']:.0f}) | {dash} | {dash} | {dash} | {dash}"
                     f" | {dash} |")
            continue
        c = R.get(ceil + "_ceiling") if ceil else None
        x = R.get(ceil + "_extended") if ceil else None
        mc = R.get(minimal) if minimal else None
        ceiling = ratio = mceiling = mratio = dash
        ext = f"{x['tps']:.0f}" if x else dash
        if c:
            ceiling = f"{c['tps']:.0f} ({fmt_ms(c['p50_ms'])} / {fmt_ms(c['p99_ms'])})"
            ratio = f"{r['rps'] / c['tps']:.2f}" if c["tps"] else dash
        if mc:
            at = f", {mc['conns']} clients" if "best_of" in mc else ""
            mceiling = (f"{mc['tps']:.0f} ({fmt_ms(mc['p50_ms'])} / {fmt_ms(mc['p99_ms'])}"
                        f"{at})")
            mratio = f"{r['rps'] / mc['tps']:.2f}" if mc["tps"] else dash
        if r.get("kind") == "openloop":
            label += f" ({r['offered_rps']:.0f}/s offered)"
        f = flag(r)
        if f:
            problems.append(f"scenario {no} ({label}): {f}")
        pct = lambda k: f"{r[k]:.0f}%" if k in r else dash
        rss = f"{r['rss_peak_mib']:.0f} MiB" if "rss_peak_mib" in r else dash
        L.append(f"| {no} | {label}{' **(' + f + ')**' if f else ''} | {r['conns']} |"
                 f" {r['rps']:.0f} | {fmt_ms(r['p50_ms'])} | {fmt_ms(r['p99_ms'])} |"
                 f" {pct('cpu_reflectd')} | {pct('cpu_postgres')} | {pct('cpu_others')} |"
                 f" {rss} | {ceiling} | {ratio} | {ext} | {mceiling} | {mratio} |")
    L.append("")
    L.extend(targets_table(R))
    L.append("")
    L.append("Ceiling: pgbench running the statement the service runs for that request "
             "(captured from PostgreSQL's log with the service's own parameters; client k uses "
             "student k % 64), prepared (-M prepared), with the same 64 clients, straight "
             "against PostgreSQL. The last column is the same with -M extended: parsed and "
             "planned on every execution (the service prepares each statement once per "
             "connection, like -M prepared).")
    L.append("")
    L.append("Minimal-statement ceiling: pgbench -M prepared running, from the same captured "
             "parameters, only what the rows need: for a list, one student's first keyset page "
             "of 20 (`" + MIN_READ.replace("$1", ":uid") + "`: plain columns, no JSON, no "
             "session check, no goal or share subqueries), at 4, 16 and 64 clients, the best "
             "counted; for a create, `" + MIN_INSERT.split(" VALUES")[0] + " VALUES (...)` of "
             "the same row (the table's triggers and foreign keys run; no membership check, no "
             "JSON), at the same 64 clients, synchronous_commit on. The one-team rows use the "
             "same 64 students, all made students of one more team (bench/oneteam.sql), so "
             "every create names that team; its 'ceiling' is the service's statement "
             "captured for those creates.")
    L.append("")
    o = R.get("read_open")
    if o:
        L.append("Open-loop row: bench.py's own generator (Python asyncio, one process, "
                 f"{o['conns']} keep-alive connections), not wrk and not `hey`: request i is "
                 "due at t0 + i / rate regardless of earlier answers, goes out on the first "
                 "idle connection, and its latency runs from its due time to the end of the "
                 "answer, so a queue in front of the server counts (no coordinated omission). "
                 f"The generator's own lateness (due to sent) had p99 {o['send_lag_p99_ms']} ms; "
                 "it is included in the figures."
                 + (" The C generator's row (bench/openloop.c: one thread, epoll, a timerfd "
                    "for the due times) has the same schedule and requests; its send lag p99: "
                    f"{R['read_open_c']['send_lag_p99_ms']} ms." if "read_open_c" in R else ""))
        L.append("")
    L.append("CPU is % of one core (the machine has "
             f"{meta.get('cores', '?')}), from /proc/<pid>/stat utime+stime over the run; "
             "reflectd = the server and its hasher process; "
             "postgres = this cluster's postmaster and its backends; others = the rest of the "
             "machine (not wrk/pgbench), i.e. anything else running. The ceiling row's own "
             "figures: " + ", ".join(
                 f"{k}: postgres {R[k]['cpu_postgres']:.0f}%, pgbench {R[k]['cpu_client']:.0f}%"
                 f", others {R[k]['cpu_others']:.0f}%"
                 for k in ("read_ceiling", "read_extended", "read_min", "write_ceiling",
                           "write1_ceiling", "write_extended", "write_min", "write1_min",
                           "write_min_g8", "write1_min_g8")
                 if k in R) + ". Client CPU in the "
             "service runs: " + ", ".join(f"{k} wrk {R[k]['cpu_client']:.0f}%"
                                          for k in ("read", "write", "write1", "summary",
                                                    "summary_304", "mixed")
                                          if k in R) + (
                 f", open-loop generator {R['read_open']['cpu_client']:.0f}%"
                 if "read_open" in R else "") + ".")
    others = [R[k]["cpu_others"] for k in R if isinstance(R[k], dict) and "cpu_others" in R[k]]
    if others and max(others) >= 25:
        L.append(f"Note: other processes used up to {max(others):.0f}% of a core during the runs"
                 " (column 'others'); on a 2-core machine that CPU is missing for reflectd, "
                 "PostgreSQL and the clients, so compare runs with similar 'others' figures.")
    peak_note = {R[k].get("rss_peak_since") for k in ("read", "write", "summary", "mixed")
                 if k in R}
    if "server start" in peak_note:
        L.append("Peak RSS is VmHWM since the server started (clear_refs was not allowed).")
    else:
        L.append("Peak RSS is VmHWM, reset (clear_refs) at the start of each run.")
    L.append("")

    i = R.get("idle")
    if i:
        L.append(f"**5. Idle keep-alive connections:** {i['connections']} connections, each after "
                 f"one `GET /healthz`, held open ({i['still_open']} still open when measured): "
                 f"reflectd RSS {i['rss_before_mib']} MiB before, **{i['rss_idle_mib']} MiB** "
                 f"holding them (≈ {i['kib_per_conn']} KiB per connection), "
                 f"{i['rss_after_close_mib']} MiB after they closed.")
        if i["connections"] < i["requested"]:
            L.append(f"(The open-file limit allowed only {i['connections']} of "
                     f"{i['requested']}.)")
        if i.get("non200"):
            problems.append(f"scenario 5: {i['non200']} non-200 answers")
        L.append("")
    bursts = [R[f"burst{n}"] for n in (1, 2, 3) if f"burst{n}" in R]
    if bursts:
        a0, lg0 = bursts[0]["alone"], bursts[0]["logins"]
        parts = []
        for n, b in enumerate(bursts, 1):
            lg = b["logins"]
            part = f"run {n}: logins {lg['rps']:.1f}/s, p99 {fmt_ms(lg['p99_ms'])} ms"
            for key, what in (("", "closed loop"), ("_open", "open loop")):
                if not all(f"{w}{key}" in b for w in ("alone", "during", "again")):
                    continue
                if b["alone"].get("kind") == "wrk":
                    what = "wrk"
                a, d, g = b[f"alone{key}"], b[f"during{key}"], b[f"again{key}"]
                part += (f"; {what}: p99 {fmt_ms(a['p99_ms'])} ms alone ({a['rps']:.0f} req/s), "
                         f"{fmt_ms(d['p99_ms'])} ms during ({d['rps']:.0f} req/s), ratio "
                         f"**{d['p99_ms'] / a['p99_ms']:.1f}x**, alone again "
                         f"{fmt_ms(g['p99_ms'])} ms; slowest answer alone / during / again "
                         f"{a['max_ms']:.0f} / {d['max_ms']:.0f} / {g['max_ms']:.0f} ms; CPU "
                         f"during: reflectd {d['cpu_reflectd']:.0f}% (its hasher process "
                         f"{d.get('cpu_hasher', 0):.0f}%), postgres {d['cpu_postgres']:.0f}%")
            parts.append(part)
        L.append(f"**6. Reads during a login burst:** scenario 1's reads on {a0['conns']} "
                 f"connections from bench/openloop.c, {a0['secs']} s windows, alone, while "
                 f"{lg0['conns']} connections log in (argon2id, "
                 f"{meta.get('argon2', 'default parameters')}), and alone again, each window "
                 "closed loop and then open loop at half the closed loop's rate alone; three "
                 "times: " + "; ".join(parts) + ".")
        L.append("")
    s0, s1 = R.get("summary_base"), R.get("summary_10x")
    if s0 and s1:
        L.append(f"**7. Summary vs data size:** scenario 3 at {s0['conns']} connections, "
                 f"{s0['secs']} s: p99 **{fmt_ms(s0['p99_ms'])} ms** on the base data set "
                 f"({s0['rps']:.0f} req/s), **{fmt_ms(s1['p99_ms'])} ms** on the 10x data set "
                 f"({s1['rps']:.0f} req/s): ratio **{s1['p99_ms'] / s0['p99_ms']:.2f}x**. "
                 f"The 10x data set: {meta.get('dataset_10x', '')}; {meta.get('seed10x_note', '')}"
                 f" ({meta.get('seed10x_secs', '?')} s).")
        L.append("")
    if meta.get("restarts"):
        L.append(f"Note: {meta['restarts']}.")
        L.append("")
    if meta.get("total_secs"):
        L.append(f"Total run time of `make bench`: {meta['total_secs']} s.")
        L.append("")
    if problems:
        L.append("**Errors:** " + "; ".join(problems))
        L.append("")
    text = "\n".join(L)
    with open(os.path.join(OUT, "results.md"), "w") as f:
        f.write(text)
    print(text)
    if problems:
        sys.exit(3)


def cmd_load(args):
    """Background load: how busy the machine is before we start anything."""
    secs = float(args[0])
    m0, t0 = machine_busy_ticks(), time.monotonic()
    time.sleep(secs)
    pct = round(100.0 * (machine_busy_ticks() - m0) / TICK / (time.monotonic() - t0), 1)
    with open("/proc/loadavg") as f:
        la = f.read().split()[0]
    meta = load_results().get("meta", {})
    meta["background"] = f"{pct}% of one core busy over {secs:g} s before the start " \
                         f"(load average {la})"
    save_result("meta", meta)
    print(f"  background load: {meta['background']}")


def cmd_set(args):
    key, value = args[0], args[1]
    try:
        value = json.loads(value)
    except ValueError:
        pass
    meta = load_results().get("meta", {})
    meta[key] = value
    save_result("meta", meta)


COMMANDS = {"login": cmd_login, "capture": cmd_capture, "wrk": cmd_wrk, "pgbench": cmd_pgbench,
            "idle": cmd_idle, "oneteam": cmd_oneteam, "pgbest": cmd_pgbest,
            "etags": cmd_etags, "openloop": cmd_openloop, "openloopc": cmd_openloop_c, "burst": cmd_burst, "report": cmd_report, "set": cmd_set,
            "load": cmd_load}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        die("usage: bench.py " + "|".join(COMMANDS) + " ...")
    try:
        COMMANDS[sys.argv[1]](sys.argv[2:])
    except (OSError, http.client.HTTPException):
        if "SERVER_PID" in os.environ:
            check_server()  # a refused connection may just mean the server was stopped
        raise
