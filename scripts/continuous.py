from gpukernels.cli.continuous import main

raise SystemExit(main())
