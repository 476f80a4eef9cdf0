"""What a run leaves behind: the results table, its schema history, the environment record.

`figures` defines every measured figure, `table` the row built from them (and reading older
tables), `environment` the `run.json` record, `locust_csv` locust's raw CSV files (read by
the locust engine for a trial's summary and by the report for its history), `console` the
table printed at the end of a run. Light on purpose: pandas and the standard library only,
so the report can read a run on a machine without the load tools.
"""
