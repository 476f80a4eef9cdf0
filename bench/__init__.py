"""The harness that measures staticbench: load runs, reference servers, results.

Nothing here is imported by `server/`; every server under test runs in its own process.
"""
