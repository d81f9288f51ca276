-- GET /api/v1/projects/{id}: a random project of 1..PROJECT_MAX (the
-- generator numbers them 1..N), with the Bearer token of one of the users.
local common = dofile((os.getenv("BENCH_LUA_DIR") or "bench/lua") .. "/common.lua")
local max_id = common.env_int("PROJECT_MAX")

function init(args)
  common.thread_init()
end

function request()
  return wrk.format("GET", "/api/v1/projects/" .. math.random(1, max_id), common.auth_headers())
end
