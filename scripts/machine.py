from gpukernels.cli.machine import main

raise SystemExit(main())
