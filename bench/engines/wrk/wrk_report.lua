-- What bench/engines/wrk/engine.py reads from wrk: its exact µs latency percentiles and counters.
--
-- Only done() is defined: it runs once, after the load has stopped, so it costs nothing
-- while measuring. No request() or response() callback on purpose: either makes wrk build
-- each request in Lua or hand every reply to Lua, which slows it down a lot. So wrk checks
-- the status class only (>= 400 counts as a status error); the conformance gate checks the
-- content before each trial.
--
-- Output: one "wrk-report <name> <value>" line each, after wrk's own text.

local PERCENTILES = { { "p50_us", 50 }, { "p90_us", 90 }, { "p99_us", 99 },
                      { "p999_us", 99.9 }, { "p9999_us", 99.99 } }

local function line(name, value)
   io.write(string.format("wrk-report %s %.17g\n", name, value))
end

done = function(summary, latency, requests)
   for _, named in ipairs(PERCENTILES) do
      line(named[1], latency:percentile(named[2]))
   end
   line("max_us", latency.max)
   line("mean_us", latency.mean)
   line("requests", summary.requests)
   line("duration_us", summary.duration)
   line("bytes", summary.bytes)
   for _, kind in ipairs({ "connect", "read", "write", "status", "timeout" }) do
      line("errors_" .. kind, summary.errors[kind])
   end
   io.flush()
end
