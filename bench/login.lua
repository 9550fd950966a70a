-- Scenario 6: a burst of POST /v1/auth/login with the right password (argon2id).
local lib = dofile((os.getenv("BENCH_DIR") or "bench") .. "/lib.lua")
lib.cycle(lib.login_requests)
