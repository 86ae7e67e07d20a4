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
-- The script has no response() callback: with one, wrk hands every answer's
-- headers and body to Lua, and LuaJIT interns each body as a string. The
-- 201 bodies share their first, last and middle bytes, the only ones
-- LuaJIT's string hash samples, so they pile up on one hash chain until a
-- garbage collection, which the large table of prepared requests makes
-- rare: in phase (d) that chain walk was 15-18 % of the two cores
-- (perf), a cost of the load generator that nginx's fixed "ok" does not
-- have. Answers are therefore counted by wrk itself (2xx and 4xx/5xx;
-- bench/run.sh reads the server's answers by status from /metrics), and
-- the end of the work is seen in delay(), which wrk calls on a connection
-- before each request it sends: delay() hands out the thread's distinct
-- requests one by one, and once they are all handed out, each connection
-- that comes back has had its last answer and parks for an hour. When all
-- WRK_CONNS / WRK_THREADS connections of the thread are parked, the thread
-- writes DIR/done.TID (bench/run.sh then stops wrk with SIGINT).
--
-- wrk's main thread always sleeps for the whole -d, so the run is timed here:
-- from each thread's first request to its last answer (LuaJIT ffi clock).
-- At the end it prints "status=2xx count=N" and "status=4xx5xx count=N",
-- then "requests=… duration_s=… rps=… p50_ms=… p99_ms=… max_ms=… errors=…
-- …  t0=… t1=…" (errors: socket errors and timeouts; latencies from wrk's
-- own histogram; t0/t1: first request and last answer, CLOCK_MONOTONIC
-- seconds, comparable between processes).

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
  total = (mode == "rush") and n or n * #programs
  -- this thread's distinct requests: k = P+M·tid, then step M·T, below total
  mine = (k < total) and (math.floor((total - 1 - k) / step) + 1) or 0
  if mine == 0 then -- nothing to send: done at once
    local f = io.open(done_dir .. "/done." .. tid, "w")
    if f then f:write("0\n"); f:close() end
  end
  conns = math.floor(tonumber(os.getenv("WRK_CONNS") or "0") / nthreads)
  assert(conns >= 1, "WRK_CONNS must be at least WRK_THREADS")
  handed = 0 -- distinct requests handed out by delay()
  parked = 0 -- connections parked after the work ran out
  finished = (mine == 0)
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
  if sent >= handed then -- not handed out by delay(): cannot happen, but stay distinct
    extra = extra + 1
    return idle
  end
  if t_first == 0 then t_first = now() end
  sent = sent + 1
  return reqs[sent]
end

function delay()
  if handed < mine then
    handed = handed + 1
    return 0
  end
  parked = parked + 1
  if parked >= conns and not finished then
    finished = true
    t_last = now()
    local f = io.open(done_dir .. "/done." .. tid, "w")
    if f then f:write(sent, "\n"); f:close() end
  end
  return 3600000
end

function done(summary, latency, requests)
  local first, last, extra_all = math.huge, 0, 0
  for _, t in ipairs(threads) do
    local f, l = t:get("t_first"), t:get("t_last")
    if f > 0 and f < first then first = f end
    if l > last then last = l end
    extra_all = extra_all + t:get("extra")
  end
  local e = summary.errors
  -- wrk counts an answer with a status above 399 in errors.status; an idle
  -- GET (extra) is a 200
  local bad = e.status
  local ok = summary.requests - bad - extra_all
  io.write(string.format("status=2xx count=%d\n", ok))
  if bad > 0 then io.write(string.format("status=4xx5xx count=%d\n", bad)) end
  local dur = (last > first) and (last - first) or (summary.duration / 1e6)
  local answered = ok + bad
  io.write(string.format("requests=%d duration_s=%.3f rps=%.0f p50_ms=%.2f p99_ms=%.2f max_ms=%.2f errors=%d timeouts=%d idle_requests=%d t0=%.6f t1=%.6f\n",
    answered, dur, answered / dur, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, e.connect + e.read + e.write + e.timeout, e.timeout, extra_all,
    (first < math.huge) and first or 0, last))
end
