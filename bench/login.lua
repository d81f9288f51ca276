-- wrk script for bench/login_storm.sh: every request is
--   POST /api/v1/auth/login  {"username": ..., "password": ...}
-- (the URL given to wrk is the login URL). Each thread counts the responses
-- that are not 200 by status; done() sums them over the threads and prints
--   login non-200: N (status: count, ...)
-- Credentials from LOGIN_USERNAME / LOGIN_PASSWORD (JSON-safe strings).

local username = os.getenv("LOGIN_USERNAME") or "bench.login"
local password = os.getenv("LOGIN_PASSWORD") or "Bench-login-2024!"

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = string.format('{"username":"%s","password":"%s"}', username, password)

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  non200 = 0
  statuses = {}
end

function response(status, headers, body)
  if status ~= 200 then
    non200 = non200 + 1
    statuses[status] = (statuses[status] or 0) + 1
  end
end

function done(summary, latency, requests)
  local total, by = 0, {}
  for _, thread in ipairs(threads) do
    total = total + (thread:get("non200") or 0)
    for status, n in pairs(thread:get("statuses") or {}) do
      by[status] = (by[status] or 0) + n
    end
  end
  local parts = {}
  for status, n in pairs(by) do
    table.insert(parts, string.format("%s: %d", tostring(status), n))
  end
  table.sort(parts)
  local e = summary.errors
  io.write(string.format("login non-200: %d (%s)\n", total,
                         #parts > 0 and table.concat(parts, ", ") or "none"))
  io.write(string.format("login socket errors: connect %d, read %d, write %d, timeout %d\n",
                         e.connect, e.read, e.write, e.timeout))
end
