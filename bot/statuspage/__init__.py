"""The status page: published incident updates on the built-in public page and Atlassian Statuspage."""
