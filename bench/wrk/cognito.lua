-- wrk script for bench/run.sh: one unsigned Cognito Identity JSON call per request, counting non-200 replies.
-- The operation and body come from the environment so every scenario and server sends identical bytes.

local target = os.getenv("BENCH_TARGET") or error("BENCH_TARGET is not set")
local body = os.getenv("BENCH_BODY") or error("BENCH_BODY is not set")

wrk.method = "POST"
wrk.body = body
wrk.headers["Content-Type"] = "application/x-amz-json-1.1"
wrk.headers["X-Amz-Target"] = "AWSCognitoIdentityService." .. target

local threads = {}

function setup(thread)
   table.insert(threads, thread)
end

-- Per-thread globals, read back in done() through thread:get.
non200 = 0
first_error = ""

function response(status, headers, reply)
   if status ~= 200 then
      non200 = non200 + 1
      if first_error == "" then
         first_error = tostring(status) .. " " .. string.sub(reply or "", 1, 300)
      end
   end
end

function done(summary, latency, requests)
   local bad = 0
   local sample = ""
   for _, t in ipairs(threads) do
      bad = bad + (t:get("non200") or 0)
      local s = t:get("first_error")
      if sample == "" and s ~= nil and s ~= "" then
         sample = s
      end
   end
   local e = summary.errors
   io.write(string.format(
      "BENCH requests=%d duration_us=%d p50_us=%.0f p90_us=%.0f p99_us=%.0f max_us=%.0f non200=%d connect=%d read=%d write=%d timeout=%d\n",
      summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
      latency:percentile(99), latency.max, bad, e.connect, e.read, e.write, e.timeout))
   io.write("BENCH_SAMPLE " .. string.gsub(sample, "[\r\n]", " ") .. "\n")
end
