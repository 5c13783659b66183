"""`python -m writein …` is the `writein` command."""

import sys

from writein.main import main

sys.exit(main())
