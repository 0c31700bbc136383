from gpukernels.cli.compare import main

raise SystemExit(main())
