import sys

from closelib.cli import main

sys.exit(main())
