import sys

from crossdistill.cli import main

sys.exit(main())
