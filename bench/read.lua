-- Scenario 1: GET /v1/reflections?limit=20 as a student (token check + one keyset page).
local lib = dofile((os.getenv("BENCH_DIR") or "bench") .. "/lib.lua")
lib.cycle(lib.read_requests)
