-- bench/lib.lua - shared by the wrk scripts (loaded with dofile).
--
-- The actors come from files bench/bench.py writes after logging in
-- (BENCH_OUT/students.txt, managers.txt: "user_id team_id access_token" per
-- line; logins.txt: "email"). Every request is formatted once, in init();
-- request() only cycles through the prepared strings, so wrk spends its CPU
-- on the network and not on Lua.
local M = {}

local out = os.getenv("BENCH_OUT") or "bench/out"
local dir = os.getenv("BENCH_DIR") or "bench"

local function read_lines(name)
    local rows = {}
    for line in io.lines(out .. "/" .. name) do
        local f = {}
        for w in line:gmatch("%S+") do
            f[#f + 1] = w
        end
        if #f > 0 then
            rows[#rows + 1] = f
        end
    end
    assert(#rows > 0, name .. " is empty")
    return rows
end

local function auth(token)
    return { ["Authorization"] = "Bearer " .. token }
end

-- GET /v1/reflections?limit=20 for every student.
function M.read_requests()
    local reqs = {}
    for _, st in ipairs(read_lines("students.txt")) do
        reqs[#reqs + 1] = wrk.format("GET", "/v1/reflections?limit=20", auth(st[3]))
    end
    return reqs
end

-- POST /v1/reflections: a complete (final) STARR(T) reflection, dated today,
-- in the student's team, without a client id (the server makes one). The
-- rest of the body is bench/reflection.json (bench.py sends the same one
-- when it captures the statement for pgbench). actors: students.txt (each
-- in their own team, spread over the 50) or writers.txt (the same students,
-- all in Team Schrijvers).
function M.write_requests(actors)
    local f = assert(io.open(dir .. "/reflection.json"))
    local rest = f:read("*a"):gsub("^%s*{", ""):gsub("%s+$", "")
    f:close()
    local reqs = {}
    local today = os.date("!%Y-%m-%d")
    for _, st in ipairs(read_lines(actors or "students.txt")) do
        local body = '{"team_id":"' .. st[2] .. '","occurred_on":"' .. today .. '",' .. rest
        reqs[#reqs + 1] = wrk.format("POST", "/v1/reflections",
            { ["Authorization"] = "Bearer " .. st[3], ["Content-Type"] = "application/json" },
            body)
    end
    return reqs
end

-- GET /v1/teams/{id}/summary over the 24 months, by each team's teammanager.
-- conditional: with If-None-Match carrying the ETag that manager got
-- (managers_etag.txt, written by `bench.py etags`), so the answers are 304s.
function M.summary_requests(conditional)
    local reqs = {}
    local from, to = os.getenv("BENCH_FROM"), os.getenv("BENCH_TO")
    for _, m in ipairs(read_lines(conditional and "managers_etag.txt" or "managers.txt")) do
        local h = auth(m[3])
        if conditional then
            h["If-None-Match"] = m[4]
        end
        reqs[#reqs + 1] = wrk.format("GET",
            "/v1/teams/" .. m[2] .. "/summary?from=" .. from .. "&to=" .. to, h)
    end
    return reqs
end

-- POST /v1/auth/login with the right password, for a set of students.
function M.login_requests()
    local reqs = {}
    local password = os.getenv("BENCH_PASSWORD")
    for _, l in ipairs(read_lines("logins.txt")) do
        reqs[#reqs + 1] = wrk.format("POST", "/v1/auth/login",
            { ["Content-Type"] = "application/json" },
            '{"email":"' .. l[1] .. '","password":"' .. password .. '"}')
    end
    return reqs
end

-- Each thread starts at a different place in the rotation.
local threads = {}
function M.setup(thread)
    thread:set("thread_no", #threads)
    threads[#threads + 1] = thread
end

-- Counting answers by status (only scripts that want it define response()):
-- done() then prints BENCH_STATUS {"200":n,"304":m,...} summed over the threads.
function M.count_statuses()
    response = function(status, headers, body)
        statuses[status] = (statuses[status] or 0) + 1
    end
    local init0 = init
    init = function(args)
        statuses = {}
        if init0 then
            init0(args)
        end
    end
    local done0 = done
    done = function(summary, latency, requests)
        done0(summary, latency, requests)
        local total, parts = {}, {}
        for _, t in ipairs(threads) do
            for k, v in pairs(t:get("statuses") or {}) do
                total[k] = (total[k] or 0) + v
            end
        end
        for k, v in pairs(total) do
            parts[#parts + 1] = string.format('"%d":%d', k, v)
        end
        io.write("BENCH_STATUS {" .. table.concat(parts, ",") .. "}\n")
    end
end

-- One machine-readable line for bench.py (percentiles in microseconds).
function M.done(summary, latency, requests)
    local e = summary.errors
    io.write(string.format(
        'BENCH_RESULT {"requests":%d,"duration_us":%d,"bytes":%d,"p50_us":%d,"p90_us":%d,'
        .. '"p99_us":%d,"max_us":%d,"mean_us":%.1f,"errors_status":%d,"errors_connect":%d,'
        .. '"errors_read":%d,"errors_write":%d,"errors_timeout":%d}\n',
        summary.requests, summary.duration, summary.bytes, latency:percentile(50),
        latency:percentile(90), latency:percentile(99), latency.max, latency.mean,
        e.status, e.connect, e.read, e.write, e.timeout))
end

-- A wrk script that cycles through one list of requests.
function M.cycle(make, arg)
    setup = M.setup
    done = M.done
    local reqs, i
    init = function(args)
        reqs = make(arg)
        i = ((thread_no or 0) * 7919) % #reqs
    end
    request = function()
        i = i % #reqs + 1
        return reqs[i]
    end
end

return M
