"""`python -m bot` runs runbookctl."""

import sys

from bot.cli import main

sys.exit(main())
