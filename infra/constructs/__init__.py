"""Reusable CDK constructs, one purpose each: a Python Lambda, a FIFO queue with its DLQ, the Fargate listener,
and the cdk-nag wiring."""
