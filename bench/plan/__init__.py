"""What a run will measure, decided before anything starts: the matrix and its presets.

Plain values (cells, trials, the names on each axis); nothing here starts, imports or
measures anything, so every other layer, the report included, may read it.
"""
