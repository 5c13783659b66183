"""`python -m bot …` is the `writein` command."""

import sys

from bot.entry import main

sys.exit(main())
