"""`python -m runner.lab`: the `drillctl lab` commands (see runner.cli.lab)."""

from runner.cli.drillctl import lab_main

raise SystemExit(lab_main())
