-- wrk script for bench/authorizer.sh: the same POST /authorize question on every request,
-- counting replies that are not HTTP 200 with an Allow decision. With BENCH_BODY_FILE empty it
-- sends GET /health instead, the HTTP floor the decisions are compared with.

local path = os.getenv("BENCH_BODY_FILE") or error("BENCH_BODY_FILE is not set")
local expect = '"decision":"Allow"'
if path == "" then
   wrk.method = "GET"
   wrk.path = "/health"
   expect = '"status":"ok"'
else
   local f = assert(io.open(path, "rb"))
   wrk.method = "POST"
   wrk.path = "/authorize"
   wrk.body = f:read("*a")
   f:close()
   wrk.headers["Content-Type"] = "application/json"
end

local threads = {}

function setup(thread)
   table.insert(threads, thread)
end

-- Per-thread globals, read back in done() through thread:get.
not_allowed = 0
first_error = ""

function response(status, headers, reply)
   if status ~= 200 or not string.find(reply or "", expect, 1, true) then
      not_allowed = not_allowed + 1
      if first_error == "" then
         first_error = tostring(status) .. " " .. string.sub(reply or "", 1, 300)
      end
   end
end

function done(summary, latency, requests)
   local bad = 0
   local sample = ""
   for _, t in ipairs(threads) do
      bad = bad + (t:get("not_allowed") or 0)
      local s = t:get("first_error")
      if sample == "" and s ~= nil and s ~= "" then
         sample = s
      end
   end
   local e = summary.errors
   io.write(string.format(
      "BENCH requests=%d duration_us=%d p50_us=%.0f p99_us=%.0f not_allowed=%d socket_errors=%d\n",
      summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), bad,
      e.connect + e.read + e.write + e.timeout))
   io.write("BENCH_SAMPLE " .. string.gsub(sample, "[\r\n]", " ") .. "\n")
end
