"""``python -m bayes_agent`` is the ``bayes-agent`` command."""

import sys

from .cli import main

sys.exit(main())
