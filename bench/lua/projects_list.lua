-- GET /api/v1/projects?unit_id=U&limit=50: the first page of a random unit's
-- projects (its subtree), U uniform in UNIT_LO..UNIT_HI (run.sh passes the
-- counties and townships, whose ids are contiguous).
local common = dofile((os.getenv("BENCH_LUA_DIR") or "bench/lua") .. "/common.lua")
local lo = common.env_int("UNIT_LO")
local hi = common.env_int("UNIT_HI")
local limit = common.env_int("LIST_LIMIT", 50)

function init(args)
  common.thread_init()
end

function request()
  return wrk.format("GET", "/api/v1/projects?unit_id=" .. math.random(lo, hi) .. "&limit=" .. limit,
                    common.auth_headers())
end
