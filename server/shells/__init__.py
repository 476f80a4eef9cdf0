"""The I/O shells, one module per design (blog, threaded, asyncio/uvloop): they only move
bytes between sockets and the core. The variant registry (`server.variants`) imports them
by name, lazily."""
