import sys

try:
    from collector.cli import main
except KeyboardInterrupt:  # Ctrl-C while the command line is still loading
    sys.exit(130)

sys.exit(main())
