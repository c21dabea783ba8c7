"""The engine: run diagnostics, plan the next safe step, execute guarded actions."""
