"""``python -m zeta_payne.cli``: the ``zeta-payne`` command (for batch scripts that pin the interpreter)."""

import sys

from zeta_payne.cli import main

sys.exit(main())
