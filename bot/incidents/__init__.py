"""The incident domain: models, state machine, store and flows."""
