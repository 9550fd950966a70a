-- Scenario 4: 80% reads (scenario 1), 15% writes (2), 5% summaries (3).
-- A fixed 20-step pattern (16 reads, 3 writes, 1 summary) gives exactly that
-- mix; each kind rotates through its own actors.
local lib = dofile((os.getenv("BENCH_DIR") or "bench") .. "/lib.lua")
local pattern = { "r", "r", "r", "w", "r", "r", "r", "r", "s", "r",
                  "r", "w", "r", "r", "r", "r", "r", "w", "r", "r" }
local lists, pos, step

setup = lib.setup
done = lib.done

function init(args)
    lists = { r = lib.read_requests(), w = lib.write_requests(), s = lib.summary_requests() }
    local offset = (thread_no or 0) * 7919
    pos = { r = offset % #lists.r, w = offset % #lists.w, s = offset % #lists.s }
    step = ((thread_no or 0) * 7) % #pattern
end

function request()
    step = step % #pattern + 1
    local kind = pattern[step]
    local list = lists[kind]
    pos[kind] = pos[kind] % #list + 1
    return list[pos[kind]]
end
