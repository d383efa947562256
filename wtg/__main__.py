"""``python -m wtg`` = the ``wtg`` command (how ``wtg worker`` starts its supervised child)."""

import sys

from .cli import main

sys.exit(main(prog_name="wtg"))
