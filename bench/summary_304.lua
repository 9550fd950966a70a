-- Scenario 3, conditional: the summary with If-None-Match carrying the ETag
-- the manager got (published months never change): 304s, counted by status.
local lib = dofile((os.getenv("BENCH_DIR") or "bench") .. "/lib.lua")
lib.cycle(lib.summary_requests, true)
lib.count_statuses()
