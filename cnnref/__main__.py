"""`python -m cnnref` is the `cnnref` command."""
import sys

from cnnref.cli import main

sys.exit(main())
