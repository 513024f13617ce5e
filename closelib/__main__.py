import sys

from closelib.cli.main import main

sys.exit(main())
