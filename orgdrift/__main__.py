from orgdrift.cli import main

raise SystemExit(main())
