"""Allow `python -m monitor` as well as the `perpmon` script."""

from monitor.cli import main

raise SystemExit(main())
