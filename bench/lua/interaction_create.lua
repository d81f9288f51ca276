-- POST /api/v1/interactions: a meeting about a random project 1..PROJECT_MAX,
-- logged in the project's own township. The generator puts project g in leaf
-- g % LEAF_COUNT, the leaves being LEAF_LO.. in id order (run.sh checks this
-- holds for every project), so the unit is LEAF_LO + g % LEAF_COUNT.
-- One write per request: the interaction, its audit row, the project's
-- last_progress_at (and that update's audit row), all by crm's triggers.
local common = dofile((os.getenv("BENCH_LUA_DIR") or "bench/lua") .. "/common.lua")
local max_id = common.env_int("PROJECT_MAX")
local leaf_lo = common.env_int("LEAF_LO")
local leaves = common.env_int("LEAF_COUNT")
local body_fmt = '{"unit_id":%d,"project_id":%d,"kind":"meeting","occurred_on":"2024-05-20",'
  .. '"place":"县政府会议室","summary":"压测：与投资方洽谈用地与配套条件"}'

function init(args)
  common.thread_init()
end

function request()
  local p = math.random(1, max_id)
  return wrk.format("POST", "/api/v1/interactions",
                    common.auth_headers({["Content-Type"] = "application/json"}),
                    string.format(body_fmt, leaf_lo + p % leaves, p))
end
