"""``python -m molssl``: the command line (also what ``torchrun -m molssl pretrain ...`` runs)."""

import sys

from molssl.cli.main import main

sys.exit(main())
