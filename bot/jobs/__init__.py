"""Durable jobs on the timer store: backoff, dead letters, arming timers inside other atomic writes."""
