from runner.cli import main
from runner.cli.process_exit import exit_now

exit_now(main())
