"""The sandbox: a Slack emulator the unchanged bot talks to, for tests, drills and `runbookctl sandbox`."""
