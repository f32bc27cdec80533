"""``python -m multimonx``: the same as the ``multimonx`` command."""

import sys

from multimonx.cli.main import main

sys.exit(main())
