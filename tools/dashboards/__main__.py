from tools.dashboards.model import main

raise SystemExit(main())
