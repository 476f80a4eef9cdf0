"""The top layer: `python -m bench run`, the campaign over a matrix, the runner of one trial.

The runner asks `bench.targets` for the server and `bench.engines` for the load, by the
cell's names, and turns what they measured into a results row; it never branches on an
engine's or a target's kind.
"""
