"""One module per runbookctl subcommand; each defines COMMAND."""
