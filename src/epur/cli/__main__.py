"""``python -m epur.cli``: the ``epur`` command."""

import sys

from epur.cli import main

sys.exit(main())
