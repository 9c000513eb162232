"""The stacks of one environment: data, secrets, messaging, alerting, compute, monitoring."""
