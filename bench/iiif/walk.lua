-- wrk script of the IIIF bench (bench/iiif/run.ts):
--   wrk -t2 -c8 -d10s -s walk.lua http://127.0.0.1:PORT -- PATHS_FILE THREADS
-- PATHS_FILE holds one request path per line (a shuffled deep-zoom session over every tile
-- of the IIIF grid, or a single info.json). Each thread cycles through the whole list,
-- starting at its own offset (thread k of n at k/n of the list), so the threads do not ask
-- for the same tile at the same moment. Every response that is not 200, and every empty
-- body, is counted: a server that answers errors fast must not win. done() prints one
-- parseable line.

local threads = {}
local next_id = 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

local paths = {}
local n = 0
local nthreads = 1
local i = nil
non200 = 0
empty = 0
first_bad = ""

function init(args)
  for line in io.lines(args[1]) do
    if #line > 0 then
      n = n + 1
      paths[n] = line
    end
  end
  nthreads = tonumber(args[2]) or 1
end

function request()
  if i == nil then
    i = math.floor((id or 0) * n / nthreads)
  end
  i = i % n + 1
  return wrk.format("GET", paths[i])
end

function response(status, headers, body)
  if status ~= 200 then
    non200 = non200 + 1
    if first_bad == "" then first_bad = tostring(status) end
  end
  if body == nil or #body == 0 then
    empty = empty + 1
  end
end

function done(summary, latency, requests)
  local bad, emp, firsts = 0, 0, ""
  for _, t in ipairs(threads) do
    bad = bad + (t:get("non200") or 0)
    emp = emp + (t:get("empty") or 0)
    local f = t:get("first_bad") or ""
    if f ~= "" and firsts == "" then firsts = f end
  end
  if firsts == "" then firsts = "-" end
  local e = summary.errors
  io.write(string.format(
    "WRK_RESULT requests=%d duration_us=%d bytes=%d rps=%.2f p50_us=%d p90_us=%d p99_us=%d max_us=%d mean_us=%.1f non200=%d empty=%d first_bad=%s connect=%d read=%d write=%d timeout=%d status=%d\n",
    summary.requests, summary.duration, summary.bytes, summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean,
    bad, emp, firsts, e.connect, e.read, e.write, e.timeout, e.status))
end
