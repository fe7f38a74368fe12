from commtwin.cli import main

raise SystemExit(main())
