"""`python -m bench run --help`."""

import sys

from bench.run.cli import main

sys.exit(main())
