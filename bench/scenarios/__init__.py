"""Locust scenarios, one small file each; every file also runs alone with `locust -f`."""
