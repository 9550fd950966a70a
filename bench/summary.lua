-- Scenario 3: GET /v1/teams/{id}/summary over 24 months as the team's teammanager.
local lib = dofile((os.getenv("BENCH_DIR") or "bench") .. "/lib.lua")
lib.cycle(lib.summary_requests)
