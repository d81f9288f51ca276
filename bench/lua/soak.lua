-- bench/soak.sh's load: a realistic mix of crm's routes at a constant rate,
-- for `wrk -tN -cN` (one connection per thread, so each answer is known to
-- belong to the thread's last request). Plain wrk has no rate option: each
-- thread keeps its own schedule (SOAK_RATE / SOAK_THREADS requests a second,
-- the threads' slots interleaved) and delay() waits for the next slot. A
-- thread that falls behind (a slow answer) sends the late slots at once, but
-- never more than one second's worth: older slots are dropped and counted as
-- `missed`, so the offered rate stays constant and is reported honestly.
--
-- Environment (set by bench/soak.sh):
--   SOAK_RATE, SOAK_THREADS   requests a second over all threads; wrk's -t
--   SOAK_READ_TOKEN           a viewer's bearer token (reads)
--   SOAK_WRITE_TOKEN          a bureau user's bearer token (writes)
--   SOAK_PROJECTS             id:unit_id,... of the projects to read and log visits to
--   SOAK_UNITS                unit ids to list and take figures of (the county first)
--   SOAK_YEAR, SOAK_DATE      the demo's year, and today (YYYY-MM-DD)
--   SOAK_LOGIN_USER, SOAK_LOGIN_PASSWORD   the user who logs in (and out) now and then
--
-- The mix, per 1000 requests drawn: 380 point reads (GET /projects/{id}), 150
-- list pages (GET /projects, half of them followed by the next page through
-- its cursor), 50 interaction lists, 120 figures (/stats/units/{id}), 40
-- rankings, 30 scorecards, 20 alerts, 20 /me, 20 /units, 25 /healthz, 140
-- interactions logged (POST /interactions: a row, its audit row, the
-- project's progress), 5 logins, each followed by GET /me and a logout with
-- the new token. A follow-up (next page, /me, logout) takes the thread's next
-- slot: the rate stays SOAK_RATE, the draws a little fewer.
--
-- done() prints lines that bench/soak.sh reads:
--   soak: sent KIND N            requests of each kind
--   soak: status KIND STATUS N   answers that were not 2xx (none: no such line)
--   soak: missed N               schedule slots dropped (the rate was not held)
local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_nsec; } soak_timespec;
  int clock_gettime(int clk, soak_timespec *ts);
]]
local ts = ffi.new("soak_timespec")
local function now()
  ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) * 1e-9
end

local function env(name, default)
  local v = os.getenv(name)
  if v == nil or v == "" then
    if default == nil then error(name .. " is not set") end
    return default
  end
  return v
end

local rate = tonumber(env("SOAK_RATE", "100"))
local nthreads = tonumber(env("SOAK_THREADS", "1"))
local read_token = env("SOAK_READ_TOKEN", "")
local write_token = env("SOAK_WRITE_TOKEN", "")
local year = env("SOAK_YEAR", os.date("%Y"))
local today = env("SOAK_DATE", os.date("%Y-%m-%d"))
local login_user = env("SOAK_LOGIN_USER", "soak.login")
local login_password = env("SOAK_LOGIN_PASSWORD", "")
local projects = {}
for id, unit in string.gmatch(env("SOAK_PROJECTS", ""), "(%d+):(%d+)") do
  projects[#projects + 1] = {id = tonumber(id), unit = tonumber(unit)}
end
local units = {}
for id in string.gmatch(env("SOAK_UNITS", ""), "%d+") do units[#units + 1] = tonumber(id) end
local stages = {"negotiating", "signed", "started", "in_production"}
local kinds = {"meeting", "site_visit", "call"}

local threads = {}
function setup(thread)
  table.insert(threads, thread)
  thread:set("thread_no", #threads)
end

function init(args)
  local no = thread_no or 1
  math.randomseed(os.time() * 7919 + no * 104729)
  for _ = 1, 10 do math.random() end
  interval = nthreads / rate
  next_due = now() + interval * (no - 1) / nthreads
  follow = {}   -- requests to send next (a cursor's page, /me and logout after a login)
  last = nil    -- the kind of the request in flight
  sent = {}
  bad = {}
  missed = 0
end

function delay()
  local t = now()
  local behind = t - 1 - next_due -- slots due more than a second ago are dropped
  if behind > 0 then
    local drop = math.ceil(behind / interval)
    missed = missed + drop
    next_due = next_due + drop * interval
  end
  local wait = next_due - t
  next_due = next_due + interval
  if wait <= 0 then return 0 end
  return math.floor(wait * 1000 + 0.5)
end

local function auth(token, extra)
  local h = {["Authorization"] = "Bearer " .. token}
  if extra then for k, v in pairs(extra) do h[k] = v end end
  return h
end

local function get(kind, path, token)
  last = kind
  return wrk.format("GET", path, auth(token or read_token))
end

local function project() return projects[math.random(1, #projects)] end
local function unit() return units[math.random(1, #units)] end

local mix = {
  {380, function() return get("project", "/api/v1/projects/" .. project().id) end},
  {150, function()
    local path = "/api/v1/projects?limit=20"
    local r = math.random()
    if r < 0.4 then path = path .. "&unit_id=" .. unit()
    elseif r < 0.7 then path = path .. "&stage=" .. stages[math.random(1, #stages)] end
    list_path = path
    return get("projects_list", path)
  end},
  {50, function()
    return get("interactions_list", "/api/v1/interactions?limit=20&project_id=" .. project().id)
  end},
  {120, function()
    local u = math.random() < 0.5 and units[1] or unit()
    return get("stats_unit", "/api/v1/stats/units/" .. u .. "?year=" .. year)
  end},
  {40, function() return get("ranking", "/api/v1/stats/ranking?year=" .. year) end},
  {30, function()
    -- a township's scorecard (the county has none of its own rank)
    local u = units[math.random(2, math.max(2, #units))] or units[1]
    return get("scorecard", "/api/v1/units/" .. u .. "/scorecard?year=" .. year)
  end},
  {20, function() return get("alerts", "/api/v1/alerts?limit=10&year=" .. year) end},
  {20, function() return get("me", "/api/v1/me") end},
  {20, function() return get("units", "/api/v1/units") end},
  {25, function() last = "healthz"; return wrk.format("GET", "/healthz") end},
  {140, function()
    local p = project()
    last = "interaction_create"
    return wrk.format("POST", "/api/v1/interactions",
      auth(write_token, {["Content-Type"] = "application/json"}),
      string.format('{"unit_id":%d,"project_id":%d,"kind":"%s","occurred_on":"%s",'
        .. '"place":"县政府会议室","summary":"长稳测试：与投资方洽谈用地与配套条件 #%d",'
        .. '"next_step":"报送投资协议"}',
        p.unit, p.id, kinds[math.random(1, #kinds)], today, math.random(1, 1000000)))
  end},
  {5, function()
    last = "login"
    return wrk.format("POST", "/api/v1/auth/login", {["Content-Type"] = "application/json"},
      string.format('{"username":"%s","password":"%s"}', login_user, login_password))
  end},
}
local total = 0
for _, m in ipairs(mix) do total = total + m[1] end

function request()
  local f = table.remove(follow, 1)
  local req
  if f then
    last = f.kind
    req = f.req
  else
    local r = math.random(1, total)
    for _, m in ipairs(mix) do
      r = r - m[1]
      if r <= 0 then req = m[2](); break end
    end
  end
  sent[last] = (sent[last] or 0) + 1
  return req
end

function response(status, headers, body)
  local kind = last or "?"
  if status < 200 or status > 299 then
    local k = kind .. " " .. status
    bad[k] = (bad[k] or 0) + 1
    return
  end
  if kind == "login" then
    local token = body and body:match('"token":"([^"]+)"')
    if token then
      table.insert(follow, {kind = "me_new_session", req = wrk.format("GET", "/api/v1/me", auth(token))})
      table.insert(follow, {kind = "logout", req = wrk.format("POST", "/api/v1/auth/logout", auth(token))})
    else
      bad["login no-token"] = (bad["login no-token"] or 0) + 1
    end
  elseif kind == "projects_list" and math.random() < 0.5 then
    local cursor = body and body:match('"next_cursor":"([^"]+)"')
    if cursor and list_path then
      table.insert(follow, {kind = "projects_next_page",
        req = wrk.format("GET", list_path .. "&cursor=" .. cursor, auth(read_token))})
    end
  end
end

function done(summary, latency, requests)
  local s, b, m = {}, {}, 0
  for _, thread in ipairs(threads) do
    for k, n in pairs(thread:get("sent") or {}) do s[k] = (s[k] or 0) + n end
    for k, n in pairs(thread:get("bad") or {}) do b[k] = (b[k] or 0) + n end
    m = m + (thread:get("missed") or 0)
  end
  local lines = {}
  for k, n in pairs(s) do lines[#lines + 1] = string.format("soak: sent %s %d", k, n) end
  for k, n in pairs(b) do lines[#lines + 1] = string.format("soak: status %s %d", k, n) end
  table.sort(lines)
  lines[#lines + 1] = string.format("soak: missed %d", m)
  io.write(table.concat(lines, "\n") .. "\n")
end
