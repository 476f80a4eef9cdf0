"""wrk as a load engine: `command` (binary, version, command line, its text output) and
`engine` (running it, pinned and bounded — for the runner's trials and `bench.perf` alike —
and reading `wrk_report.lua`'s exact µs figures).
"""
