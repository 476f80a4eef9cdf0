"""`nox -s perf`: nginx and every variant under wrk, with the issue's speed and memory targets."""
