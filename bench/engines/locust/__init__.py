"""Locust as a load engine: `engine` (one trial), `processes` (command lines, the processes,
the wait), `latency` (µs HDR histograms recorded in each locust process, merged exactly)
and `scenarios/` (one locustfile per scenario). Locust's CSV files are read by
`bench.results.locust_csv`: the report reads them too.

Locust itself is imported only inside locust's processes (the scenario files), never here.
"""
