"""``python -m pipesheet.cli ARGS``: the same as the ``pipesheet`` command."""

import sys

from pipesheet.cli import main

sys.exit(main())
