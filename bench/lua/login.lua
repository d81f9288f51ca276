-- POST /api/v1/auth/login: the storm. Each request logs in one of the users
-- LOGIN_USERS (comma-separated) with LOGIN_PASSWORD, round robin (argon2id
-- verification of the stored hash, then a new session row).
local common = dofile((os.getenv("BENCH_LUA_DIR") or "bench/lua") .. "/common.lua")
local users = {}
for u in string.gmatch(os.getenv("LOGIN_USERS") or "bench.login", "[^,]+") do users[#users + 1] = u end
local password = os.getenv("LOGIN_PASSWORD") or "Bench-login-2024!"
local headers = {["Content-Type"] = "application/json"}

function init(args)
  common.thread_init()
  user_i = thread_no or 1
end

function request()
  user_i = user_i % #users + 1
  return wrk.format("POST", "/api/v1/auth/login", headers,
                    string.format('{"username":"%s","password":"%s"}', users[user_i], password))
end
