"""What is measured: our server, nginx, the reference peers, the original post's server.

`start` (one `start_target(cell, ...)` for every kind), `process` (the one child-process
module: start, readiness, stop by PID), `probe` (the small raw-socket HTTP client),
`conformance` (the gate every server passes before it is measured), `nginx`,
`original_blog` and `peers/`. Importing this package imports nothing else.
"""
