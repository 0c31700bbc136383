from gpukernels.cli.report import main

raise SystemExit(main())
