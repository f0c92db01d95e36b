"""Offline stand-ins for tests and benchmarks: tiny random checkpoints of the genuine classes, a local chat API."""
