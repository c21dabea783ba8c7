"""The Slack edge: gateway (every Web API call), renderers, listeners."""
