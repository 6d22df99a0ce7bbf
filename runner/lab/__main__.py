"""`python -m runner.lab`: see runner.lab.cli."""

from runner.lab.cli import main

raise SystemExit(main())
