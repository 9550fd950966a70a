-- Scenario 2: POST /v1/reflections, a final reflection (synchronous_commit on).
local lib = dofile((os.getenv("BENCH_DIR") or "bench") .. "/lib.lua")
lib.cycle(lib.write_requests)
