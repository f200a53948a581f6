-- Shared by the wrk scripts of bench/api/run.sh (loaded with dofile()).
--
-- Reads from the environment:
--   BENCH_TOKEN   bearer token sent as "Authorization: Bearer <token>" (optional)
--
-- Prints one machine-readable line from done():
--   BENCH_RESULT requests=N duration_us=N rps=F p50_us=N p90_us=N p99_us=N max_us=N
--                status_errors=N connect_errors=N read_errors=N write_errors=N timeouts=N
-- status_errors are responses with an HTTP status > 399 (wrk's own count).

local token = os.getenv("BENCH_TOKEN")
if token and token ~= "" then
   wrk.headers["Authorization"] = "Bearer " .. token
end

bench_threads = {}

function bench_report(summary, latency, extra)
   local e = summary.errors
   local dur = summary.duration
   local rps = 0
   if dur > 0 then rps = summary.requests / (dur / 1e6) end
   io.write(string.format(
      "BENCH_RESULT requests=%d duration_us=%d rps=%.1f p50_us=%d p90_us=%d p99_us=%d max_us=%d "
      .. "status_errors=%d connect_errors=%d read_errors=%d write_errors=%d timeouts=%d%s\n",
      summary.requests, dur, rps,
      latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
      e.status, e.connect, e.read, e.write, e.timeout, extra or ""))
end

function done(summary, latency, requests)
   bench_report(summary, latency, "")
end
