-- wrk script: POST /v1/clusters with a unique cluster name on every request.
--
-- Environment:
--   BENCH_LUA_DIR   directory holding common.lua
--   BENCH_TOKENS    comma-separated tenant tokens; requests rotate over them
--   BENCH_RUN       short random lowercase tag, makes names unique across runs
--   BENCH_BODY_EXTRA optional JSON members appended to the body (e.g. ',"availability":"single_zone"')
--
-- Names: "b<run>-<thread>-<counter>", a DNS-1035 label well under 40 chars,
-- unique per wrk thread and per run. Statuses are counted per thread in
-- response() and summed in done(): "s202=N s409=N ... other=N".
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

local next_id = 1
function setup(thread)
   thread:set("tid", next_id)
   next_id = next_id + 1
   table.insert(bench_threads, thread)
end

function init(args)
   tokens = {}
   for t in string.gmatch(os.getenv("BENCH_TOKENS") or "", "[^,]+") do
      table.insert(tokens, t)
   end
   if #tokens == 0 then
      error("post.lua: BENCH_TOKENS is empty")
   end
   run = os.getenv("BENCH_RUN") or "x"
   extra = os.getenv("BENCH_BODY_EXTRA") or ""
   counter = 0
   statuses = {}
   host = wrk.headers["Host"]
end

function request()
   counter = counter + 1
   local name = string.format("b%s-%d-%d", run, tid, counter)
   local body = string.format(
      '{"name":"%s","kafka_version":"3.9.1","brokers":3,"storage_gib":100%s}', name, extra)
   local headers = {
      ["Host"] = host,
      ["Authorization"] = "Bearer " .. tokens[(counter % #tokens) + 1],
      ["Content-Type"] = "application/json",
   }
   return wrk.format("POST", nil, headers, body)
end

function response(status, headers, body)
   local k = tostring(status)
   statuses[k] = (statuses[k] or 0) + 1
   -- keep the first error body of each status for diagnosis
   if status > 299 then
      first_error = first_error or {}
      if not first_error[k] then first_error[k] = string.sub(body or "", 1, 300) end
   end
end

function done(summary, latency, requests)
   local total = {}
   local errs = {}
   for _, thread in ipairs(bench_threads) do
      local s = thread:get("statuses") or {}
      for k, v in pairs(s) do total[k] = (total[k] or 0) + v end
      local fe = thread:get("first_error") or {}
      for k, v in pairs(fe) do errs[k] = errs[k] or v end
   end
   local keys = {}
   for k in pairs(total) do table.insert(keys, k) end
   table.sort(keys)
   local parts = {}
   for _, k in ipairs(keys) do table.insert(parts, string.format(" s%s=%d", k, total[k])) end
   bench_report(summary, latency, table.concat(parts))
   for _, k in ipairs(keys) do
      if errs[k] then
         io.write(string.format("BENCH_ERROR_BODY status=%s %s\n", k, (errs[k]:gsub("\n", " "))))
      end
   end
end
