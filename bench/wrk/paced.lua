-- wrk script for bench/ratelimit.sh: paced unsigned Cognito Identity calls, with client-side latency
-- kept apart for admitted (200) and throttled (TooManyRequestsException) replies.
-- Run with as many threads as connections (-tN -cN): each thread then has one connection whose
-- requests are strictly sequential, so one start time per thread is enough.

local ffi = require("ffi")
ffi.cdef [[
   typedef struct { long tv_sec; long tv_nsec; } idpool_timespec;
   int clock_gettime(int clk_id, idpool_timespec *tp);
]]
local CLOCK_MONOTONIC = 1
local ts = ffi.new("idpool_timespec")
local function now_us()
   ffi.C.clock_gettime(CLOCK_MONOTONIC, ts)
   return tonumber(ts.tv_sec) * 1e6 + tonumber(ts.tv_nsec) / 1e3
end

local target = os.getenv("BENCH_TARGET") or error("BENCH_TARGET is not set")
local body = os.getenv("BENCH_BODY") or error("BENCH_BODY is not set")
-- Pause after each reply, in whole milliseconds (wrk's timer granularity); 0 = no pacing.
local pause_ms = tonumber(os.getenv("BENCH_PAUSE_MS") or "0")

local headers = {
   ["Content-Type"] = "application/x-amz-json-1.1",
   ["X-Amz-Target"] = "AWSCognitoIdentityService." .. target,
}

local threads = {}

function setup(thread)
   table.insert(threads, thread)
end

-- Per-thread globals, read back in done() through thread:get. Latencies go into 10 us buckets.
ok_hist = {}
throttled_hist = {}
ok = 0
throttled = 0
other = 0
first_other = ""
local started = 0

function request()
   started = now_us()
   return wrk.format("POST", "/", headers, body)
end

if pause_ms > 0 then
   function delay()
      return pause_ms
   end
end

function response(status, _, reply)
   local bucket = math.floor((now_us() - started) / 10)
   if status == 200 then
      ok = ok + 1
      ok_hist[bucket] = (ok_hist[bucket] or 0) + 1
   elseif status == 400 and string.find(reply or "", "TooManyRequestsException", 1, true) then
      throttled = throttled + 1
      throttled_hist[bucket] = (throttled_hist[bucket] or 0) + 1
   else
      other = other + 1
      if first_other == "" then
         first_other = tostring(status) .. " " .. string.sub(reply or "", 1, 200)
      end
   end
end

local function percentile(hist, n, p)
   if n == 0 then
      return 0
   end
   local keys = {}
   for k in pairs(hist) do
      table.insert(keys, k)
   end
   table.sort(keys)
   local want = math.ceil(n * p / 100)
   local seen = 0
   for _, k in ipairs(keys) do
      seen = seen + hist[k]
      if seen >= want then
         return (k + 1) * 10 / 1000
      end
   end
   return 0
end

local function merge(into, from)
   for k, v in pairs(from or {}) do
      into[k] = (into[k] or 0) + v
   end
end

function done(summary)
   local okh, thh = {}, {}
   local n_ok, n_th, n_other, sample = 0, 0, 0, ""
   for _, t in ipairs(threads) do
      merge(okh, t:get("ok_hist"))
      merge(thh, t:get("throttled_hist"))
      n_ok = n_ok + (t:get("ok") or 0)
      n_th = n_th + (t:get("throttled") or 0)
      n_other = n_other + (t:get("other") or 0)
      local s = t:get("first_other")
      if sample == "" and s ~= nil then
         sample = s
      end
   end
   local secs = summary.duration / 1e6
   local e = summary.errors
   io.write(string.format(
      "PACED offered_rps=%.0f admitted_rps=%.0f ok=%d throttled=%d other=%d ok_p50_ms=%.3f ok_p99_ms=%.3f ok_p999_ms=%.3f throttled_p99_ms=%.3f socket_errors=%d\n",
      summary.requests / secs, n_ok / secs, n_ok, n_th, n_other,
      percentile(okh, n_ok, 50), percentile(okh, n_ok, 99), percentile(okh, n_ok, 99.9),
      percentile(thh, n_th, 99), e.connect + e.read + e.write + e.timeout))
   if sample ~= "" then
      io.write("PACED_OTHER " .. string.gsub(sample, "[\r\n]", " ") .. "\n")
   end
end
