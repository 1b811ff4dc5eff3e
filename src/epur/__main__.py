"""``python -m epur`` runs the command line."""

import sys

from epur.cli import main

sys.exit(main())
