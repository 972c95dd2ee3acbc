"""RQ jobs that decide comments and deliver webhooks, and the worker entry point."""
