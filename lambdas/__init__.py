"""The Lambda handlers: ``lambdas/<name>/handler.py: handler(event, context)`` for dispatcher, executor, audit and
notifier. Each is a thin shell (Powertools logging, metrics and tracing; parse the event; call one service function
from ``runtime.hosts``; report partial batch failures). Their services come from ``runtime.hosts.aws``."""
