"""What loads a target: one `Engine` interface (`interface`), a registry of engines by name
(`registry`), and the engines — `locust/` (its processes, scenarios and HDR latency) and
`wrk/` (the one wrk stack, for the runner and `bench.perf`).

Importing this package imports nothing else: the locust scenario files import from it
inside locust's own processes.
"""
