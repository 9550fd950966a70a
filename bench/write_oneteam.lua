-- Scenario 2, one team: POST /v1/reflections by the 64 benchmark students,
-- all into Team Schrijvers (bench/oneteam.sql), one student per connection.
local lib = dofile((os.getenv("BENCH_DIR") or "bench") .. "/lib.lua")
lib.cycle(lib.write_requests, "writers.txt")
