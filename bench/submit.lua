-- bench/submit.lua — wrk script for POST /api/v1/applications.
--
--   WRK_THREADS=T wrk -t T -c C -d MAX -s bench/submit.lua URL -- DIR MODE [PROGRAMS]
--
-- DIR holds tokens.txt and rush.txt / fields.txt written by bench/prepare.mjs
-- (one line per applicant). MODE:
--   rush   request k goes to applicant k with its body from rush.txt (the demo
--          programs, categories spread): every applicant submits once.
--   bench  PROGRAMS is a comma-separated list of bench program ids (copies of
--          yn2022-skill, each its own group and series); request k goes to
--          applicant k mod N in program floor(k / N): each applicant submits
--          once to each bench program, N × #PROGRAMS distinct submissions.
-- Every connection/request gets a different (applicant, program): thread t of
-- T takes k = t, t+T, t+2T, …
--
-- Several wrk processes (one per server node) can share one run on disjoint
-- work: WRK_PART=P/M (default 0/1) makes this process take only the requests
-- k ≡ P (mod M) — thread t takes k = P + M·t, step M·T — and WRK_DONE_DIR
-- (default DIR) is where it writes its done.TID files.
--
-- wrk's main thread always sleeps for the whole -d, so the run is timed here:
-- from each thread's first request to its last answer (LuaJIT ffi clock).
-- When a thread has had all its distinct submissions answered it writes
-- DIR/done.TID (bench/run.sh then stops wrk with SIGINT) and its connections
-- idle; a request wrk must still send (a reconnect after a timeout) is a
-- GET /api/v1/time, which is neither counted nor timed as a submission.
-- At the end it prints "status=CODE count=N" per submission status, then
-- "requests=… duration_s=… rps=… p50_ms=… p99_ms=… max_ms=… errors=… …
-- t0=… t1=…" (errors: socket errors and timeouts; latencies from wrk's own
-- histogram; t0/t1: first request and last answer, CLOCK_MONOTONIC seconds,
-- comparable between processes).

local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
  int clock_gettime(int clk, bench_timespec *tp);
]]
local ts = ffi.new("bench_timespec")
local function now()
  ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) / 1e9
end

local threads = {}
local counter = 1

function setup(thread)
  thread:set("tid", counter - 1)
  counter = counter + 1
  table.insert(threads, thread)
end

local function lines(path)
  local t = {}
  local f = assert(io.open(path, "r"))
  for l in f:lines() do
    if #l > 0 then t[#t + 1] = l end
  end
  f:close()
  return t
end

function init(args)
  dir = args[1]
  mode = args[2] or "rush"
  tokens = lines(dir .. "/tokens.txt")
  if mode == "rush" then
    bodies = lines(dir .. "/rush.txt")
  else
    bodies = lines(dir .. "/fields.txt")
    programs = {}
    for p in string.gmatch(args[3] or "", "[^,]+") do programs[#programs + 1] = p end
    assert(#programs > 0, "bench mode needs a program list")
  end
  n = #tokens
  nthreads = tonumber(os.getenv("WRK_THREADS") or "1")
  local part, parts = string.match(os.getenv("WRK_PART") or "0/1", "^(%d+)/(%d+)$")
  part, parts = tonumber(part), tonumber(parts)
  assert(part and parts and parts >= 1 and part < parts, "WRK_PART must be P/M with 0 <= P < M")
  done_dir = os.getenv("WRK_DONE_DIR") or dir
  k = part + parts * tid
  step = parts * nthreads
  counts = {}
  total = (mode == "rush") and n or n * #programs
  -- this thread's distinct requests: k = P+M·tid, then step M·T, below total
  mine = (k < total) and (math.floor((total - 1 - k) / step) + 1) or 0
  if mine == 0 then -- nothing to send: done at once
    local f = io.open(done_dir .. "/done." .. tid, "w")
    if f then f:write("0\n"); f:close() end
  end
  answered = 0
  extra = 0
  t_first = 0
  t_last = 0
  -- fields.txt: applicant i's previous level fits senior-technician when i % 3 == 0
  cats = { "senior-technician", "technician", "technician" }
  hdr = { ["Content-Type"] = "application/json" }
  idle = wrk.format("GET", "/api/v1/time")
  -- wrk calls thread 0's request() once before the run to count pipelined
  -- requests and throws the answer away: give it the idle request
  verify_call = (tid == 0)
  -- This thread's requests, built here, before the run: the generator shares
  -- the server's cores, and building each body and request during the run
  -- was a Lua cost per submission that nginx's fixed GET does not have.
  reqs = {}
  for kk = k, total - 1, step do
    local i = kk % n
    local body
    if mode == "rush" then
      body = bodies[i + 1]
    else
      local p = programs[math.floor(kk / n) + 1]
      body = '{"program":"' .. p .. '","category":"' .. cats[(i % 3) + 1] .. '","fields":' .. bodies[i + 1] .. '}'
    end
    hdr["Authorization"] = "Bearer " .. tokens[i + 1]
    reqs[#reqs + 1] = wrk.format("POST", "/api/v1/applications", hdr, body)
  end
  bodies, tokens = nil, nil
  sent = 0
end

function request()
  if verify_call then
    verify_call = false
    return idle
  end
  if sent >= mine then
    extra = extra + 1
    return idle
  end
  if t_first == 0 then t_first = now() end
  sent = sent + 1
  return reqs[sent]
end

function delay()
  if sent >= mine then return 3600000 end
  return 0
end

function response(status, headers, body)
  if status == 200 then return end -- the idle GET
  counts[status] = (counts[status] or 0) + 1
  answered = answered + 1
  t_last = now()
  if answered == mine then
    local f = io.open(done_dir .. "/done." .. tid, "w")
    if f then f:write(answered, "\n"); f:close() end
  end
end

function done(summary, latency, requests)
  local total = {}
  local first, last, answered_all, extra_all = math.huge, 0, 0, 0
  for _, t in ipairs(threads) do
    for s, v in pairs(t:get("counts")) do total[s] = (total[s] or 0) + v end
    local f, l = t:get("t_first"), t:get("t_last")
    if f > 0 and f < first then first = f end
    if l > last then last = l end
    answered_all = answered_all + t:get("answered")
    extra_all = extra_all + t:get("extra")
  end
  local keys = {}
  for s in pairs(total) do keys[#keys + 1] = s end
  table.sort(keys)
  for _, s in ipairs(keys) do io.write(string.format("status=%d count=%d\n", s, total[s])) end
  local e = summary.errors
  local dur = (last > first) and (last - first) or (summary.duration / 1e6)
  io.write(string.format("requests=%d duration_s=%.3f rps=%.0f p50_ms=%.2f p99_ms=%.2f max_ms=%.2f errors=%d timeouts=%d idle_requests=%d t0=%.6f t1=%.6f\n",
    answered_all, dur, answered_all / dur, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, e.connect + e.read + e.write + e.timeout, e.timeout, extra_all,
    (first < math.huge) and first or 0, last))
end
