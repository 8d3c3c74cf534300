"""What each `tracelens` subcommand does once its arguments are parsed (cli.py parses them)."""
