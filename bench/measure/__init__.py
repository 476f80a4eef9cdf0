"""What a trial costs, measured from outside: process-tree sampling, server costs, busy cores.

It reads /proc (psutil) and the server's own counters; it starts no process and formats
nothing. The figures it produces are `bench.results.figures.Costs`.
"""
