-- bench/serve/authorize.lua - wrk script for bench/serve.sh: POST
-- /v1/authorize with the bodies of $WRK_BODIES (one JSON request a line,
-- made by requests.py from the Cedar differential), in turn, each thread
-- from its own offset, with "Authorization: Bearer $WRK_KEY". At the end
-- it prints one machine-readable line:
--   RESULT requests=N seconds=S rps=R p50_us=A p99_us=B max_us=C errors=E non2xx=X
local bodies = {}
for line in io.lines(os.getenv("WRK_BODIES")) do
    if #line > 0 then bodies[#bodies + 1] = line end
end
local key = os.getenv("WRK_KEY") or "none"
local reqs = {}
local threads = {}
local n = 0

function setup(thread)
    thread:set("offset", #threads * 7919)
    threads[#threads + 1] = thread
end

-- The requests are made here, not at load: wrk knows the Host header
-- only once the threads start.
function init(args)
    n = offset or 0
    for i, b in ipairs(bodies) do
        reqs[i] = wrk.format("POST", "/v1/authorize", {
            ["Host"] = wrk.headers["Host"],
            ["Authorization"] = "Bearer " .. key,
            ["Content-Type"] = "application/json",
        }, b)
    end
end

function request()
    n = n + 1
    return reqs[(n % #reqs) + 1]
end

function done(summary, latency, requests)
    local e = summary.errors
    local errors = e.connect + e.read + e.write + e.timeout
    io.write(string.format(
        "RESULT requests=%d seconds=%.3f rps=%.1f p50_us=%d p99_us=%d max_us=%d errors=%d non2xx=%d\n",
        summary.requests, summary.duration / 1e6,
        summary.requests / (summary.duration / 1e6),
        latency:percentile(50), latency:percentile(99), latency.max,
        errors, e.status))
end
