-- Shared by the wrk scripts of bench/run.sh (loaded with dofile by each).
--
-- Environment (set by run.sh):
--   BENCH_TOKENS   comma-separated bearer tokens, one per logged-in user; each
--                  request takes the next one (round robin per wrk thread)
--   BENCH_SEED     optional seed; each thread adds its own number
-- Every script counts the answers that are not 2xx by status; done() sums
-- them over the threads and prints one line that run.sh reads:
--   statuses: none            or   statuses: 401 x 12, 503 x 3
-- (wrk's own "Non-2xx or 3xx responses" and "Socket errors" lines stay.)

local common = {}

common.tokens = {}
for t in string.gmatch(os.getenv("BENCH_TOKENS") or "", "[^,]+") do
  common.tokens[#common.tokens + 1] = t
end

local function env_int(name, default)
  local v = tonumber(os.getenv(name) or "")
  if v == nil then
    if default == nil then error(name .. " is not set") end
    return default
  end
  return math.floor(v)
end
common.env_int = env_int

local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("thread_no", counter)
  table.insert(threads, thread)
end

-- Per thread: a seed, the token cursor, the status counts.
function common.thread_init()
  local no = thread_no or 1
  math.randomseed(env_int("BENCH_SEED", os.time()) * 7919 + no * 104729)
  for _ = 1, 10 do math.random() end
  token_i = no
  bad = {}
end

function common.auth_headers(extra)
  local h = {}
  if #common.tokens > 0 then
    token_i = token_i % #common.tokens + 1
    h["Authorization"] = "Bearer " .. common.tokens[token_i]
  end
  if extra then
    for k, v in pairs(extra) do h[k] = v end
  end
  return h
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    bad[status] = (bad[status] or 0) + 1
  end
end

function done(summary, latency, requests)
  local by = {}
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("bad") or {}) do
      by[status] = (by[status] or 0) + n
    end
  end
  local parts = {}
  for status, n in pairs(by) do
    table.insert(parts, string.format("%s x %d", tostring(status), n))
  end
  table.sort(parts)
  io.write("statuses: " .. (#parts > 0 and table.concat(parts, ", ") or "none") .. "\n")
end

return common
