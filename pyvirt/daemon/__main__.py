"""``python -m pyvirt.daemon`` runs pyvirtd."""

import sys

from .main import main

sys.exit(main())
