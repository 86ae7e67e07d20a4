-- bench/get.lua — wrk script for plain GETs (nginx, GET /api/v1/remaining):
-- prints the same summary line as submit.lua. Like submit.lua it has no
-- response() callback, so both are measured with wrk's own counting:
-- status=2xx and status=4xx5xx (wrk counts a status above 399 apart).
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function done(summary, latency, requests)
  local e = summary.errors
  local bad = e.status
  io.write(string.format("status=2xx count=%d\n", summary.requests - bad))
  if bad > 0 then io.write(string.format("status=4xx5xx count=%d\n", bad)) end
  local dur = summary.duration / 1e6
  io.write(string.format("requests=%d duration_s=%.3f rps=%.0f p50_ms=%.2f p99_ms=%.2f max_ms=%.2f errors=%d\n",
    summary.requests, dur, summary.requests / dur, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, e.connect + e.read + e.write + e.timeout))
end
