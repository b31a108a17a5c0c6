-- wrk script for bench/scale.sh: unsigned Cognito Identity calls, each thread stopping after
-- BENCH_PER_THREAD replies. With one connection per thread (-tN -cN) nothing is left in flight
-- at the stop, so the server sees exactly N x BENCH_PER_THREAD requests.

local target = os.getenv("BENCH_TARGET") or error("BENCH_TARGET is not set")
local body = os.getenv("BENCH_BODY") or error("BENCH_BODY is not set")
local per_thread = tonumber(os.getenv("BENCH_PER_THREAD") or "") or error("BENCH_PER_THREAD is not set")

wrk.method = "POST"
wrk.body = body
wrk.headers["Content-Type"] = "application/x-amz-json-1.1"
wrk.headers["X-Amz-Target"] = "AWSCognitoIdentityService." .. target

local threads = {}

function setup(thread)
   table.insert(threads, thread)
end

-- Per-thread globals, read back in done() through thread:get.
replies = 0
ok = 0
first_error = ""

function response(status, headers, reply)
   replies = replies + 1
   if status == 200 then
      ok = ok + 1
   elseif first_error == "" then
      first_error = tostring(status) .. " " .. string.sub(reply or "", 1, 300)
   end
   if replies >= per_thread then
      wrk.thread:stop()
   end
end

function done(summary, latency, requests)
   local n_ok, n_replies, sample = 0, 0, ""
   for _, t in ipairs(threads) do
      n_ok = n_ok + (t:get("ok") or 0)
      n_replies = n_replies + (t:get("replies") or 0)
      local s = t:get("first_error")
      if sample == "" and s ~= nil and s ~= "" then
         sample = s
      end
   end
   local e = summary.errors
   io.write(string.format(
      "BOUNDED replies=%d ok=%d duration_us=%d socket_errors=%d\n",
      n_replies, n_ok, summary.duration, e.connect + e.read + e.write + e.timeout))
   io.write("BOUNDED_SAMPLE " .. string.gsub(sample, "[\r\n]", " ") .. "\n")
end
