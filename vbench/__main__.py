import sys

from vbench.cli import main

sys.exit(main())
