"""staticbench's static-file HTTP/1.1 server: one sans-IO core, several I/O shells.

Run it with `python -m server --help`. Importing this package never imports optional
dependencies (uvloop is loaded only when its variant is chosen).
"""
