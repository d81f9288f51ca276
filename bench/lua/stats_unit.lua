-- GET /api/v1/stats/units/{id}?year=YEAR: the KPI figures of STATS_UNIT (the
-- root of the scale: the county with its 1,000 projects, or the province with
-- all 1,000,000 below it) as of today, as the dashboard asks at 8:30.
local common = dofile((os.getenv("BENCH_LUA_DIR") or "bench/lua") .. "/common.lua")
local path = "/api/v1/stats/units/" .. common.env_int("STATS_UNIT") .. "?year=" .. common.env_int("STATS_YEAR", 2024)

function init(args)
  common.thread_init()
end

function request()
  return wrk.format("GET", path, common.auth_headers())
end
