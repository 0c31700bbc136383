from gpukernels.cli.probe import main

raise SystemExit(main())
