-- bench/get.lua — wrk script for plain GETs (nginx, GET /api/v1/programs):
-- counts statuses and prints the same summary line as submit.lua.
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  counts = {}
end

function response(status, headers, body)
  counts[status] = (counts[status] or 0) + 1
end

function done(summary, latency, requests)
  local total = {}
  for _, t in ipairs(threads) do
    for s, v in pairs(t:get("counts")) do total[s] = (total[s] or 0) + v end
  end
  local keys = {}
  for s in pairs(total) do keys[#keys + 1] = s end
  table.sort(keys)
  for _, s in ipairs(keys) do io.write(string.format("status=%d count=%d\n", s, total[s])) end
  local e = summary.errors
  local dur = summary.duration / 1e6
  io.write(string.format("requests=%d duration_s=%.3f rps=%.0f p50_ms=%.2f p99_ms=%.2f max_ms=%.2f errors=%d\n",
    summary.requests, dur, summary.requests / dur, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, e.connect + e.read + e.write + e.timeout))
end
